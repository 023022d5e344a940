import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// A relay target on 127.0.0.1 that echoes what each connection sends and counts the
/// connections it accepted — to show that a connection the tee refused never reached it.
public final class EchoTarget: Sendable {
    private final class Counter: Sendable {
        let value = Atomic<Int>(0)
    }

    public let listener: BlockingListener
    private let accepted = Counter()
    private let thread: TestThreads.Handle<Void>

    public init() throws {
        let listener = try BlockingListener()
        let accepted = self.accepted
        self.listener = listener
        self.thread = TestThreads.start {
            while let socket = try? listener.accept() {
                accepted.value.add(1, ordering: .relaxed)
                _ = TestThreads.start {
                    while let chunk = try? socket.receive(), !chunk.isEmpty {
                        try? socket.send(chunk)
                    }
                    socket.close()
                }
            }
        }
    }

    public var port: Int { self.listener.port }
    /// Connections accepted so far.
    public var connections: Int { self.accepted.value.load(ordering: .relaxed) }
    public func stop() { self.listener.close() }

    /// The reply did not echo what was sent.
    public struct Mismatch: Error {
        public var reply: [UInt8]
    }

    /// Connects to `port` from `source` (e.g. `127.0.0.2`) and checks that one message comes back
    /// through the relay; returns the open connection.
    public static func echoingClient(port: Int, from source: String) async throws -> BlockingSocket {
        try await TestThreads.start { () throws -> BlockingSocket in
            let socket = try BlockingSocket.connect(port: port, from: source)
            socket.setReceiveTimeout(seconds: 10)
            let message = Array("ping from \(source)".utf8)
            try socket.send(message)
            let reply = try socket.receive(exactly: message.count)
            guard reply == message else { throw Mismatch(reply: reply) }
            return socket
        }.value
    }

    /// Connects to `port` from `source` and reports whether the connection was closed without a
    /// byte (end of stream or reset) within 5 s — how a refused connection looks to a client.
    public static func closedAtOnce(port: Int, from source: String) async throws -> Bool {
        try await TestThreads.start { () throws -> Bool in
            let socket = try BlockingSocket.connect(port: port, from: source)
            defer { socket.close() }
            socket.setReceiveTimeout(seconds: 5)
            do {
                return try socket.receive().isEmpty
            } catch let failure as BlockingSocket.Failure where failure.errno == ECONNRESET {
                return true
            }
        }.value
    }

    /// Sends `text` on `socket` and checks that it comes back.
    public static func echo(_ text: String, on socket: BlockingSocket) async throws -> Bool {
        try await TestThreads.start { () throws -> Bool in
            try socket.send(text)
            return try socket.receive(exactly: text.utf8.count) == Array(text.utf8)
        }.value
    }
}
