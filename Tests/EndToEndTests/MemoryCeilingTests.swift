import Foundation
import Tee
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Issue 14, "memory ceilings": the release binary, under a hard memory limit, fed each parser's
/// worst shapes. It stays up, relays every byte back and forth unchanged, counts what it could not
/// decode, and its peak resident memory above idle stays under the bound RELIABILITY.md states:
///
///     decode.queue_bytes + decode.workers × 3 × max(decode.max_frame_size, 64 MiB)
///
/// (frames held, arriving, queued or being decoded; then per worker the inflated payload and
/// what it keeps, with room for the allocator). Every shape goes through an echo target, so each
/// frame is decoded twice, once per direction. An echoed request is no reply: the values of each
/// direction are held (charged to `decode.queue_bytes`) until the next request or the end of the
/// connection, and counted as `no_reply` rather than emitted.
@Suite("memory ceilings with the release binary", .tags(.load), .tier(.load), .serialized, .timeLimit(.minutes(10)))
struct MemoryCeilingTests {
    /// One hostile input and the counter it must move.
    struct Shape: Sendable {
        var name: String
        var listener: Listener
        var frame: @Sendable () -> [UInt8]
        /// Metric name, labels, and by how much it must grow.
        var counted: (name: String, labels: [(String, String)], delta: Double)
    }

    enum Listener: Sendable { case trappers, passive }

    /// Values decoded, held until a reply that never comes (the echo of a request is a request).
    static let unanswered = "zabbix_tee_item_values_rejected_total"

    /// Payloads inflate to about this much: just under the default decode.max_frame_size.
    static let size = 120 << 20

    static let shapes: [Shape] = {
        let sender = #"{"request":"sender data","data":["#
        let dense = (size - 40) / 7
        let usable = (size - 40) / 12
        let keys = 100
        let hosts = 100_000
        return [
            Shape(
                name: "dense tiny objects `{\"\":0}` (zlib, honest reserved)",
                listener: .trappers,
                frame: {
                    ZabbixFrames.compressedPattern(prefix: sender, element: #"{"":0}"#, count: dense, suffix: "]}")
                },
                counted: ("zabbix_tee_decode_rows_dropped_total", [("reason", "unusable")], Double(2 * dense))
            ),
            Shape(
                name: "dense tiny objects, uncompressed (frames assembled from reads)",
                listener: .trappers,
                frame: { ZabbixFrames.plainPattern(prefix: sender, element: #"{"":0}"#, count: dense, suffix: "]}") },
                counted: ("zabbix_tee_decode_rows_dropped_total", [("reason", "unusable")], Double(2 * dense))
            ),
            Shape(
                name: "dense usable rows `{\"value\":0}` beyond the payload budget",
                listener: .trappers,
                frame: {
                    ZabbixFrames.compressedPattern(
                        prefix: sender,
                        element: #"{"value":0}"#,
                        count: usable,
                        suffix: "]}"
                    )
                },
                counted: ("zabbix_tee_decode_failures_total", [("reason", "budget_exceeded")], 2)
            ),
            Shape(
                name: "deep nesting `[[[[…`",
                listener: .trappers,
                frame: {
                    ZabbixFrames.compressedPattern(
                        prefix: #"{"request":"sender data","data":"#,
                        element: "[",
                        separator: "",
                        count: size,
                        suffix: ""
                    )
                },
                counted: ("zabbix_tee_decode_failures_total", [("reason", "invalid_json")], 2)
            ),
            Shape(
                name: "one long string value (kept: 120 MiB)",
                listener: .trappers,
                frame: {
                    ZabbixFrames.compressedPattern(
                        prefix: sender + #"{"host":"h","key":"k","value":""#,
                        element: "x",
                        separator: "",
                        count: size,
                        suffix: #""}]}"#
                    )
                },
                counted: (Self.unanswered, [("reason", "no_reply")], 2)
            ),
            Shape(
                name: "huge keys (\(keys) of 1 MiB)",
                listener: .trappers,
                frame: {
                    ZabbixFrames.compressedPattern(
                        prefix: sender,
                        element: #"{"host":"h","key":""# + String(repeating: "k", count: 1 << 20) + #"","value":"1"}"#,
                        count: keys,
                        suffix: "]}"
                    )
                },
                counted: ("zabbix_tee_decode_rows_dropped_total", [("reason", "key_too_long")], Double(2 * keys))
            ),
            Shape(
                name: "many hosts (\(hosts) rows, each its own host: kept)",
                listener: .trappers,
                frame: {
                    let rows = (0..<hosts).map {
                        #"{"host":"host-\#($0).fleet.example.net","key":"system.cpu.load[all,avg1]","value":"\#($0)"}"#
                    }
                    return ZabbixFrames.compressed(sender + rows.joined(separator: ",") + "]}")
                },
                counted: (Self.unanswered, [("reason", "no_reply")], Double(2 * hosts))
            ),
            Shape(
                name: "zlib bomb, honest reserved (120 MiB from 120 KB; nothing to keep)",
                listener: .trappers,
                frame: {
                    ZabbixFrames.compressedPattern(
                        prefix: #"{"request":"sender data","data":""#,
                        element: "A",
                        separator: "",
                        count: size,
                        suffix: #""}"#
                    )
                },
                counted: ("zabbix_tee_frames_decoded_total", [("type", "sender data"), ("flags", "0x3")], 2)
            ),
            Shape(
                name: "zlib bomb, lying reserved (512 MiB of zeros claiming 1000 bytes)",
                listener: .trappers,
                frame: {
                    ZabbixFrames.compressedPattern(
                        prefix: "",
                        element: "\0",
                        separator: "",
                        count: 512 << 20,
                        suffix: "",
                        reserved: 1000
                    )
                },
                counted: ("zabbix_tee_decode_failures_total", [("reason", "corrupt_compression")], 2)
            ),
            Shape(
                name: "lying reserved (7 bytes claiming 127 MiB)",
                listener: .trappers,
                frame: {
                    ZabbixFrames.compressedPattern(
                        prefix: #"{"a":1}"#,
                        element: "",
                        separator: "",
                        count: 0,
                        suffix: "",
                        reserved: 127 << 20
                    )
                },
                counted: ("zabbix_tee_decode_failures_total", [("reason", "corrupt_compression")], 2)
            ),
            Shape(
                name: "a non-JSON frame of 120 MiB on a passive listener",
                listener: .passive,
                frame: {
                    ZabbixFrames.compressedPattern(prefix: "", element: "k", separator: "", count: size, suffix: "")
                },
                counted: ("zabbix_tee_decode_rows_dropped_total", [("reason", "key_too_long")], 1)
            ),
        ]
    }()

    /// What RELIABILITY.md states, for the configuration the tee runs with.
    static func bound(_ configuration: DecodeConfiguration) -> Int {
        configuration.queueBytes + configuration.workers * 3 * max(configuration.maximumFrameSize, 64 << 20)
    }

    @Test func hostileShapesStayUnderTheStatedBoundAndAreRelayedUnchanged() async throws {
        let binary = try await TeeProcess.releaseBinary()
        let target = try EchoTarget()
        defer { target.stop() }
        let (trappers, passive, admin) = (try LoopbackPort.free(), try LoopbackPort.free(), try LoopbackPort.free())
        let defaults = DecodeConfiguration()
        let bound = Self.bound(defaults)
        // Room for the idle process besides the bound: it is killed if it goes past this.
        let ceiling = try MemoryCeiling.make(bytes: bound + (128 << 20), name: "zabbix-tee-memory")
        defer { ceiling.remove() }
        let configuration = """
            listeners:
            \(TeeProcess.listener(name: "trappers", port: trappers, targets: [target.port]))
            \(TeeProcess.listener(name: "passive", port: passive, targets: [target.port]))
            admin:
              listen: "127.0.0.1:\(admin)"
            """
        let tee = try await TeeProcess.start(
            configuration: configuration,
            ports: [trappers, passive, admin],
            binary: binary,
            launcher: ceiling.prefix
        )
        let pid = tee.child.pid
        var report = [
            "memory ceiling: \(ceiling.mechanism.rawValue) = \(ceiling.bytes >> 20) MiB; bound above idle: \(bound >> 20) MiB"
                + " (queue_bytes \(defaults.queueBytes >> 20) MiB + \(defaults.workers) × 3 × \(defaults.maximumFrameSize >> 20) MiB)",
            "| shape | on the wire | RSS before | peak RSS | peak above idle | counted |",
            "|---|---:|---:|---:|---:|---|",
        ]
        do {
            // Idle: started, one ordinary exchange decoded.
            let warmUp = ZabbixFrames.plain(#"{"request":"sender data","data":[{"host":"h","key":"k","value":"1"}]}"#)
            #expect(try await Self.echo(warmUp, port: trappers))
            try await Self.waitForCounter(admin, (Self.unanswered, [("reason", "no_reply")], 2), from: 0)
            let idle = try #require(ResidentMemory.of(pid: pid)).current

            for shape in Self.shapes {
                let clock = ContinuousClock()
                let started = clock.now
                let frame = shape.frame()
                let generated = clock.now
                let before = try MetricsScrape.get(port: admin).value(shape.counted.name, shape.counted.labels)
                let resetPeak = ResidentMemory.resetPeak(pid: pid)
                let rssBefore = try #require(ResidentMemory.of(pid: pid)).current
                let port = shape.listener == .trappers ? trappers : passive
                #expect(try await Self.echo(frame, port: port), "\(shape.name): relayed bytes differ")
                let echoed = clock.now
                try await Self.waitForCounter(admin, shape.counted, from: before)
                print(
                    "\(shape.name): generated in \(generated - started), echoed in \(echoed - generated), decoded \(clock.now - echoed) later"
                )
                #expect(tee.child.isRunning, "\(shape.name): the tee died\n\(tee.log().suffix(2000))")
                let peak = try #require(ResidentMemory.of(pid: pid)).peak
                let above = (resetPeak ? peak : max(peak, rssBefore)) - idle
                #expect(
                    above <= bound,
                    "\(shape.name): peak \(peak >> 20) MiB, \(above >> 20) MiB above idle, bound \(bound >> 20) MiB"
                )
                report.append(
                    "| \(shape.name) | \(Self.size(frame.count)) | \(rssBefore >> 20) MiB | \(peak >> 20) MiB | \(above >> 20) MiB | "
                        + "`\(shape.counted.name)\(shape.counted.labels.isEmpty ? "" : "{" + shape.counted.labels.map { "\($0.0)=\"\($0.1)\"" }.joined(separator: ",") + "}")` +\(Int(shape.counted.delta)) |"
                )
            }
            report.insert("idle RSS: \(idle >> 20) MiB", at: 1)
            print(report.joined(separator: "\n"))
            #expect(try await tee.stop() == 0, "graceful stop after every shape")
        } catch {
            _ = try? await tee.stop(signal: SIGKILL)
            throw error
        }
    }

    static func size(_ bytes: Int) -> String {
        bytes >= 1 << 20 ? "\(bytes >> 20) MiB" : bytes >= 1 << 10 ? "\(bytes >> 10) KiB" : "\(bytes) B"
    }

    /// Sends `frame` through the tee to the echo target on a fresh connection and reads it back:
    /// whether every byte came back unchanged.
    static func echo(_ frame: [UInt8], port: Int) async throws -> Bool {
        let socket = try BlockingSocket.connect(port: port)
        defer { socket.close() }
        socket.setReceiveTimeout(seconds: 60)
        let sender = TestThreads.start { try frame.withUnsafeBytes { try socket.send($0) } }
        let same = try await TestThreads.start { () throws -> Bool in
            var offset = 0
            var same = true
            while offset < frame.count {
                let chunk = try socket.receive(maximum: min(1 << 20, frame.count - offset))
                if chunk.isEmpty { return false }
                same =
                    same
                    && frame.withUnsafeBytes { sent in
                        chunk.withUnsafeBytes { memcmp(sent.baseAddress! + offset, $0.baseAddress!, chunk.count) == 0 }
                    }
                offset += chunk.count
            }
            return same
        }.value
        try await sender.value
        return same
    }

    /// Waits until the tee's counter `name{labels}` reached `start + delta`: the frames of a shape
    /// are decoded (or refused) by then.
    static func waitForCounter(
        _ admin: Int,
        _ counted: (name: String, labels: [(String, String)], delta: Double),
        from start: Double
    ) async throws {
        try await waitUntil(
            "\(counted.name) to grow by \(counted.delta)",
            timeout: .seconds(120),
            interval: .milliseconds(50)
        ) {
            try MetricsScrape.get(port: admin).value(counted.name, counted.labels) >= start + counted.delta
        }
    }
}
