import CRiemannProto
import Foundation
import Riemann
import TestSupport
import Testing

/// Our encoder's output, read back by decoders we did not write: protobuf-c's generic
/// descriptor-driven unpacker and `protoc --decode` (Google's C++ protobuf).
@Suite struct RiemannCrossCheckTests {
    static let protoDirectory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Sources/CRiemannProto").path
    static let protoc = "/usr/bin/protoc"

    /// Everything but NaN (NaN != NaN; checked separately).
    static let events = [CodecFixtures.full] + CodecFixtures.extremes

    @Test func genericProtobufCUnpackerReadsEveryField() throws {
        let body = try RiemannMessageCodec.encodeBody(RiemannMessage(events: Self.events))
        // The address of the real descriptor global (an initialized message points at it; a Swift
        // `withUnsafePointer(to:)` on the imported constant would only give a temporary copy).
        var template = Riemann__Msg()
        riemann__msg__init(&template)
        let descriptor = try #require(template.base.descriptor)
        let decoded: [RiemannEvent]? = body.withUnsafeBufferPointer { bytes in
            guard let message = protobuf_c_message_unpack(descriptor, nil, bytes.count, bytes.baseAddress)
            else { return nil }
            defer { protobuf_c_message_free_unpacked(message, nil) }
            #expect(protobuf_c_message_check(message) != 0)
            return UnsafeMutableRawPointer(message).withMemoryRebound(to: Riemann__Msg.self, capacity: 1) { msg in
                (0..<msg.pointee.n_events).map { Self.readCEvent(msg.pointee.events[$0]!.pointee) }
            }
        }
        #expect(decoded == Self.events)
    }

    /// Reads a C `Event` field by field, without the module's decoder.
    static func readCEvent(_ e: Riemann__Event) -> RiemannEvent {
        func str(_ p: UnsafeMutablePointer<CChar>?) -> String? { p.map { String(cString: $0) } }
        var metric: RiemannMetric?
        if e.has_metric_f != 0 { metric = .float(e.metric_f) }
        if e.has_metric_d != 0 { metric = .double(e.metric_d) }
        if e.has_metric_sint64 != 0 { metric = .sint64(e.metric_sint64) }
        return RiemannEvent(
            time: e.has_time != 0 ? e.time : nil,
            timeMicros: e.has_time_micros != 0 ? e.time_micros : nil,
            state: str(e.state),
            service: str(e.service),
            host: str(e.host),
            description: str(e.description),
            tags: (0..<e.n_tags).map { String(cString: e.tags[$0]!) },
            ttl: e.has_ttl != 0 ? e.ttl : nil,
            attributes: (0..<e.n_attributes).map {
                RiemannAttribute(
                    key: String(cString: e.attributes[$0]!.pointee.key),
                    value: str(e.attributes[$0]!.pointee.value)
                )
            },
            metric: metric
        )
    }

    @Test(.tags(.integration), .tier(.integration), .enabled(if: isExecutable(RiemannCrossCheckTests.protoc)))
    func protocDecodesEveryField() async throws {
        let body = try RiemannMessageCodec.encodeBody(RiemannMessage(events: Self.events))
        let output = try await runProcess(
            Self.protoc,
            ["--decode=riemann.Msg", "-I", Self.protoDirectory, "\(Self.protoDirectory)/riemann.proto"],
            input: body
        )
        #expect(output.exitCode == 0, "\(output.standardError)")
        let root = try ProtocText.parse(output.standardOutput)
        let decoded = root.children.filter { $0.name == "events" }.map { ProtocText.event(from: $0.node) }
        #expect(decoded.count == Self.events.count)
        for (got, want) in zip(decoded, Self.events) {
            #expect(got == want)
        }
    }

    @Test(.tags(.integration), .tier(.integration), .enabled(if: isExecutable(RiemannCrossCheckTests.protoc)))
    func protocSeesNaNAndAckAndErrorReplies() async throws {
        let message = RiemannMessage(ok: false, error: "stream threw", events: [RiemannEvent(metric: .double(.nan))])
        let output = try await runProcess(
            Self.protoc,
            ["--decode=riemann.Msg", "-I", Self.protoDirectory, "\(Self.protoDirectory)/riemann.proto"],
            input: try RiemannMessageCodec.encodeBody(message)
        )
        #expect(output.standardOutput == "ok: false\nerror: \"stream threw\"\nevents {\n  metric_d: nan\n}\n")
    }
}

/// A minimal reader for protoc's text format output (`--decode`), enough for `riemann.Msg`.
enum ProtocText {
    struct Node {
        var fields: [(name: String, value: String)] = []
        var children: [(name: String, node: Node)] = []
        func values(_ name: String) -> [String] { self.fields.filter { $0.name == name }.map(\.value) }
        func value(_ name: String) -> String? { self.values(name).first }
    }

    struct ParseError: Error { var line: String }

    static func parse(_ text: String) throws -> Node {
        var stack: [(name: String, node: Node)] = [("", Node())]
        for raw in text.split(separator: "\n") {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.hasSuffix(" {") {
                stack.append((String(line.dropLast(2)), Node()))
            } else if line == "}" {
                guard stack.count > 1 else { throw ParseError(line: line) }
                let child = stack.removeLast()
                stack[stack.count - 1].node.children.append(child)
            } else if let colon = line.range(of: ": ") {
                let name = String(line[..<colon.lowerBound])
                var value = String(line[colon.upperBound...])
                if value.hasPrefix("\"") { value = try unescape(value) }
                stack[stack.count - 1].node.fields.append((name, value))
            } else {
                throw ParseError(line: line)
            }
        }
        guard stack.count == 1 else { throw ParseError(line: "unbalanced braces") }
        return stack[0].node
    }

    /// Undoes protoc's C escaping (`\ooo` octal bytes, `\n`, `\"`, ...) and decodes UTF-8.
    static func unescape(_ quoted: String) throws -> String {
        var bytes: [UInt8] = []
        var input = Array(quoted.utf8.dropFirst().dropLast())[...]
        while let byte = input.popFirst() {
            guard byte == UInt8(ascii: "\\"), let next = input.popFirst() else {
                bytes.append(byte)
                continue
            }
            switch next {
            case UInt8(ascii: "n"): bytes.append(0x0A)
            case UInt8(ascii: "t"): bytes.append(0x09)
            case UInt8(ascii: "r"): bytes.append(0x0D)
            case UInt8(ascii: "0")...UInt8(ascii: "7"):
                var value = Int(next - UInt8(ascii: "0"))
                for _ in 0..<2 {
                    guard let digit = input.first, (UInt8(ascii: "0")...UInt8(ascii: "7")).contains(digit) else {
                        break
                    }
                    value = value * 8 + Int(digit - UInt8(ascii: "0"))
                    input.removeFirst()
                }
                bytes.append(UInt8(value))
            default: bytes.append(next)  // \" \' \\
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    static func event(from node: Node) -> RiemannEvent {
        var metric: RiemannMetric?
        if let f = node.value("metric_f") { metric = .float(Float(f)!) }
        if let d = node.value("metric_d") { metric = .double(Double(d)!) }
        if let i = node.value("metric_sint64") { metric = .sint64(Int64(i)!) }
        return RiemannEvent(
            time: node.value("time").flatMap { Int64($0) },
            timeMicros: node.value("time_micros").flatMap { Int64($0) },
            state: node.value("state"),
            service: node.value("service"),
            host: node.value("host"),
            description: node.value("description"),
            tags: node.values("tags"),
            ttl: node.value("ttl").flatMap { Float($0) },
            attributes: node.children.filter { $0.name == "attributes" }.map {
                RiemannAttribute(key: $0.node.value("key") ?? "<missing>", value: $0.node.value("value"))
            },
            metric: metric
        )
    }
}
