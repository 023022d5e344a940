import ArgumentParser
import Foundation
import Relay
import Tee
import ZabbixProtocol

#if canImport(Glibc)
import Glibc
#endif

/// `zabbix-tee replay`: plays recorded client traffic against a live tee or Zabbix program and
/// compares the replies with the recorded ones; with `--count`/`--concurrency` a simple load tool.
struct ReplayCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replay",
        abstract: "Replay recordings' client bytes against HOST:PORT and compare the replies with the recorded ones.",
        discussion: """
            PATH is a recording (client.bin, server.bin, meta.json, as `record:` writes them) or a
            directory of recordings. Client frames are sent one exchange at a time, as Zabbix
            programs do. A recording whose meta.json says "deterministic": false (a reply with a
            timestamp, a TLS session) is replayed and reported, but a different reply is not an error.
            Exits 1 if a deterministic recording got a different reply or any connection failed.
            """
    )

    @Argument(help: "Recording directory, or a directory of recordings.")
    var path: String

    @Option(help: "Where to replay to: the tee's listener, or a Zabbix program directly.")
    var to: String

    @Option(help: "Replays of each recording.")
    var count = 1

    @Option(help: "Replays in flight at once.")
    var concurrency = 1

    @Option(help: "Seconds to wait for a reply.")
    var timeout: Double = 10

    func run() async throws {
        let target: Endpoint
        do { target = try Endpoint(parsing: self.to) } catch { throw ValidationError("--to: \(error)") }
        guard self.count >= 1, self.concurrency >= 1 else {
            throw ValidationError("--count and --concurrency must be at least 1")
        }
        guard self.timeout > 0, self.timeout <= 86_400 else {
            throw ValidationError("--timeout must be above 0 and at most 86400 seconds")
        }
        var failed = false
        for recording in try RecordedConnection.load(self.path) {
            let started = Date()
            let outcomes = await Self.replay(
                recording,
                to: target,
                count: self.count,
                concurrency: self.concurrency,
                timeout: self.timeout
            )
            let seconds = Date().timeIntervalSince(started)
            let identical = outcomes.filter { $0.reply == recording.server }.count
            let errors = outcomes.compactMap(\.error)
            let latencies = outcomes.filter { $0.error == nil }.map(\.seconds).sorted()
            var report: [String: Any] = [
                "recording": recording.name, "replays": outcomes.count, "identical": identical,
                "deterministic": recording.deterministic, "errors": errors.count,
                "per_second": seconds > 0 ? Double(outcomes.count) / seconds : 0,
            ]
            if !latencies.isEmpty {
                report["p50_ms"] = latencies[latencies.count / 2] * 1000
                report["p99_ms"] = latencies[min(latencies.count - 1, latencies.count * 99 / 100)] * 1000
            }
            if let first = outcomes.first(where: { $0.error == nil && $0.reply != recording.server }) {
                report["first_difference"] = Self.difference(expected: recording.server, got: first.reply)
            }
            if let error = errors.first { report["first_error"] = error }
            print(DecodeCommand.text(report))
            if !errors.isEmpty || (recording.deterministic && identical < outcomes.count) { failed = true }
        }
        if failed { throw ExitCode(1) }
    }

    struct Outcome: Sendable {
        var reply: [UInt8] = []
        var seconds: Double = 0
        var error: String?
    }

    static func replay(
        _ recording: RecordedConnection,
        to target: Endpoint,
        count: Int,
        concurrency: Int,
        timeout: Double
    ) async -> [Outcome] {
        await withTaskGroup(of: [Outcome].self) { group in
            let perWorker = (0..<concurrency).map { worker in (0..<count).filter { $0 % concurrency == worker }.count }
            for runs in perWorker where runs > 0 {
                group.addTask {
                    await withCheckedContinuation { continuation in
                        let thread = Thread {
                            continuation.resume(
                                returning: (0..<runs).map { _ in
                                    Self.exchange(recording, target: target, timeout: timeout)
                                }
                            )
                        }
                        thread.start()
                    }
                }
            }
            return await group.reduce(into: []) { $0 += $1 }
        }
    }

    /// One connection: each client frame, then the reply frame to it; after the last client frame,
    /// everything until the peer closes (Zabbix's accepting side closes first).
    static func exchange(_ recording: RecordedConnection, target: Endpoint, timeout: Double) -> Outcome {
        let started = Date()
        var outcome = Outcome()
        do {
            let socket = try ReplaySocket(connectingTo: target, timeout: timeout)
            defer { socket.close() }
            let frames = RecordedConnection.frames(recording.client)
            for (index, frame) in frames.enumerated() {
                try socket.send(frame)
                if index < frames.count - 1 {
                    outcome.reply += try socket.receiveFrame()
                }
            }
            outcome.reply += try socket.receiveAll()
        } catch {
            outcome.error = "\(error)"
        }
        outcome.seconds = Date().timeIntervalSince(started)
        return outcome
    }

    static func difference(expected: [UInt8], got: [UInt8]) -> String {
        let offset =
            zip(expected, got).enumerated().first { $0.element.0 != $0.element.1 }?.offset
            ?? min(expected.count, got.count)
        return "byte \(offset) (recorded \(expected.count) bytes, got \(got.count))"
    }
}

/// How `replay` reads and cuts recordings (the format itself is ``RecordedConnection``'s).
extension RecordedConnection {
    /// A recording, or a directory of recordings in name order.
    static func load(_ path: String) throws -> [RecordedConnection] {
        if let single = Self.read(directory: path, name: (path as NSString).lastPathComponent) { return [single] }
        guard let recordings = Self.readAll(in: path) else {
            throw ValidationError("\(path): not a recording (no \(Self.clientFile)) nor a directory of recordings")
        }
        guard !recordings.isEmpty else { throw ValidationError("\(path): no recordings found") }
        return recordings
    }

    /// The client bytes cut at ZBXD frame boundaries (one piece if they are not ZBXD framing).
    static func frames(_ bytes: [UInt8]) -> [[UInt8]] {
        var frames: [[UInt8]] = []
        var offset = 0
        // `length <= bytes.count - offset`, not `offset + length <= bytes.count`: a recorded header
        // may announce up to 2^64 bytes, and the sum would overflow.
        while let length = frameLength(bytes, at: offset), length <= bytes.count - offset {
            frames.append(Array(bytes[offset..<(offset + length)]))
            offset += length
        }
        if offset < bytes.count { frames.append(Array(bytes[offset...])) }
        return frames
    }

    /// Header plus payload length of the ZBXD frame at `offset`, if one starts there.
    static func frameLength(_ bytes: [UInt8], at offset: Int) -> Int? {
        guard let header = ZabbixFrameHeader(bytes: bytes, at: offset),
            header.dataLength < UInt64(Int.max - header.length)
        else { return nil }
        return header.length + Int(header.dataLength)
    }
}

/// A blocking client socket with a receive timeout, for the replay tool.
final class ReplaySocket {
    let fd: Int32

    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    init(connectingTo target: Endpoint, timeout: Double) throws {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var result: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(target.host, String(target.port), &hints, &result) == 0, let info = result else {
            throw Failure(description: "cannot resolve \(target)")
        }
        defer { freeaddrinfo(result) }
        self.fd = socket(info.pointee.ai_family, Int32(SOCK_STREAM.rawValue), 0)
        guard self.fd >= 0 else { throw Failure(description: "socket: \(String(cString: strerror(errno)))") }
        var limit = timeval(tv_sec: Int(timeout), tv_usec: Int((timeout - Double(Int(timeout))) * 1e6))
        _ = setsockopt(self.fd, SOL_SOCKET, SO_RCVTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
        _ = setsockopt(self.fd, SOL_SOCKET, SO_SNDTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
        guard Glibc.connect(self.fd, info.pointee.ai_addr, info.pointee.ai_addrlen) == 0 else {
            let reason = String(cString: strerror(errno))
            Glibc.close(self.fd)
            throw Failure(description: "connect \(target): \(reason)")
        }
    }

    func send(_ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { raw -> Int in
                guard let base = raw.baseAddress else { return bytes.count - offset }  // empty: nothing to send
                return Glibc.send(self.fd, base + offset, bytes.count - offset, Int32(MSG_NOSIGNAL))
            }
            if n < 0 {
                if errno == EINTR { continue }
                throw Failure(description: "send: \(String(cString: strerror(errno)))")
            }
            offset += n
        }
    }

    /// Reads up to `maximum` bytes; empty at end of stream.
    func receive(maximum: Int) throws -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: maximum)
        while true {
            let n = buffer.withUnsafeMutableBytes { recv(self.fd, $0.baseAddress, maximum, 0) }
            if n >= 0 { return Array(buffer[..<n]) }
            if errno == EINTR { continue }
            throw Failure(
                description: errno == EAGAIN
                    ? "no reply within the timeout" : "recv: \(String(cString: strerror(errno)))"
            )
        }
    }

    /// One reply frame (by its header's length).
    func receiveFrame() throws -> [UInt8] {
        var bytes: [UInt8] = []
        while true {
            if let length = RecordedConnection.frameLength(bytes, at: 0), bytes.count >= length { return bytes }
            let chunk = try self.receive(maximum: 65536)
            if chunk.isEmpty { return bytes }
            bytes += chunk
        }
    }

    func receiveAll() throws -> [UInt8] {
        var bytes: [UInt8] = []
        while true {
            let chunk = try self.receive(maximum: 65536)
            if chunk.isEmpty { return bytes }
            bytes += chunk
        }
    }

    func close() {
        Glibc.close(self.fd)
    }
}
