import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// A Zabbix-server stand-in on loopback that misbehaves on purpose, one thread per connection.
///
/// With ``Behaviour/answer`` it reads one ZBXD frame and answers with ``AgentExchange/reply(to:)``
/// of the bytes it received, then closes first (as the Zabbix server does). The other behaviours
/// are the server faults of the fault matrix (RELIABILITY.md). Every connection's request is
/// recorded: complete frames, and the bytes of requests that ended before a whole frame arrived.
public final class FaultyZabbixServer: Sendable {
    public enum Behaviour: Sendable, Equatable {
        /// Read the request, answer it, close.
        case answer
        /// Read the request, answer with these bytes (a whole reply frame), close.
        case answerWith([UInt8])
        /// Read the request, send the first `afterBytes` bytes of the reply, then reset (RST).
        case resetMidReply(afterBytes: Int)
        /// Read the request and never answer; close only when the peer does.
        case neverAnswer
        /// Read the request, answer one byte at a time with `delay` between bytes, close.
        case answerByteByByte(delay: Duration)
        /// Wait until the request is there, then close without reading it (the kernel resets).
        case closeWithoutReading
    }

    /// What the server has seen so far.
    public struct Record: Sendable {
        public var connections = 0
        /// Requests received whole (a complete ZBXD frame).
        public var completeRequests = 0
        /// Lengths of requests that ended (EOF, reset, timeout) before a whole frame arrived.
        public var partialRequests: [Int] = []
    }

    public let port: Int
    public let behaviour: Behaviour
    private let listener: BlockingListener
    private let record = Mutex(Record())
    /// Bytes of the requests being read, by connection number.
    private let reading = Mutex<[Int: [UInt8]]>([:])
    private let threads = Mutex<[TestThreads.Handle<Void>]>([])
    private let acceptLoop = Mutex<TestThreads.Handle<Void>?>(nil)

    private init(listener: BlockingListener, behaviour: Behaviour) {
        self.listener = listener
        self.port = listener.port
        self.behaviour = behaviour
    }

    /// Starts listening on 127.0.0.1 (a port from ``LoopbackPort/free()``).
    public static func start(_ behaviour: Behaviour = .answer) throws -> FaultyZabbixServer {
        let server = FaultyZabbixServer(
            listener: try BlockingListener(port: try LoopbackPort.free(), backlog: 1024),
            behaviour: behaviour
        )
        let loop = TestThreads.start { () -> Void in
            while let socket = try? server.listener.accept() {
                let number = server.record.withLock {
                    $0.connections += 1
                    return $0.connections
                }
                let handle = TestThreads.start { server.serve(socket, number: number) }
                server.threads.withLock { $0.append(handle) }
            }
        }
        server.acceptLoop.withLock { $0 = loop }
        return server
    }

    public var recorded: Record { self.record.withLock { $0 } }

    /// True once some connection's request, as received so far, is exactly `bytes` (clients use
    /// it to know their bytes crossed the tee before they reset).
    public func isReading(_ bytes: [UInt8]) -> Bool {
        self.reading.withLock { $0.values.contains(bytes) }
    }

    /// Stops accepting and waits for every connection thread (each ends when its peer closes, or
    /// after 30 s without a byte).
    public func stop() async throws {
        self.listener.close()
        if let loop = self.acceptLoop.withLock({ $0 }) { try await loop.value }
        for thread in self.threads.withLock({ $0 }) { try await thread.value }
    }

    private func serve(_ socket: BlockingSocket, number: Int) {
        defer { socket.close() }
        socket.setReceiveTimeout(seconds: 30)
        if self.behaviour == .closeWithoutReading {
            var descriptor = pollfd(fd: socket.fd, events: Int16(POLLIN), revents: 0)
            _ = poll(&descriptor, 1, 10_000)
            socket.reset()
            return
        }
        guard let request = self.readFrame(socket, number: number) else { return }
        let reply = AgentExchange.reply(to: request)
        switch self.behaviour {
        case .answer, .closeWithoutReading:
            try? socket.send(reply)
        case .answerWith(let bytes):
            try? socket.send(bytes)
        case .resetMidReply(let count):
            try? socket.send(Array(reply.prefix(count)))
            usleep(50_000)
            socket.reset()
        case .neverAnswer:
            _ = try? socket.receiveAll()
        case .answerByteByByte(let delay):
            for byte in reply {
                guard (try? socket.send([byte])) != nil else { return }
                Thread.sleep(
                    forTimeInterval: Double(delay.components.seconds) + Double(delay.components.attoseconds) / 1e18
                )
            }
        }
    }

    /// Reads one whole ZBXD frame (plain 13-byte header), or records a partial request and
    /// returns nil if the stream ends first.
    private func readFrame(_ socket: BlockingSocket, number: Int) -> [UInt8]? {
        var bytes: [UInt8] = []
        defer { self.reading.withLock { $0[number] = nil } }
        while true {
            if bytes.count >= 13 {
                let length = (5..<9).reduce(0) { $0 | Int(bytes[$1]) << (8 * ($1 - 5)) }
                if bytes.count >= 13 + length {
                    self.record.withLock { $0.completeRequests += 1 }
                    return bytes
                }
            }
            guard let chunk = try? socket.receive(), !chunk.isEmpty else {
                self.record.withLock { $0.partialRequests.append(bytes.count) }
                return nil
            }
            bytes += chunk
            self.reading.withLock { $0[number] = bytes }
        }
    }
}
