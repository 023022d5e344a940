import Foundation
import Synchronization

/// A loopback relay in front of a Zabbix endpoint (here: a tee) that loses replies on purpose:
/// for the first `dropping` connections whose request is `agent data`, it forwards the request,
/// reads the whole reply, and closes the client's connection without sending it — the reply was
/// written by the server, seen by whatever sits behind this relay, and lost on the way to the
/// agent, which then sends the same batch again. Every other exchange is forwarded both ways.
///
/// One request frame, one reply, then close: the Zabbix pattern (no pipelining), one thread per
/// connection.
public final class ReplyDroppingRelay: Sendable {
    public let port: Int
    private let listener: BlockingListener
    private let target: Int
    private let state: Mutex<(toDrop: Int, dropped: Int, forwarded: Int)>
    private let loop = Mutex<TestThreads.Handle<Void>?>(nil)

    /// Starts listening on 127.0.0.1; requests go to 127.0.0.1:`target`.
    public init(target: Int, dropping: Int = 1) throws {
        self.listener = try BlockingListener()
        self.port = self.listener.port
        self.target = target
        self.state = Mutex((dropping, 0, 0))
        let handle = TestThreads.start { [self] in
            while let client = try? self.listener.accept() {
                _ = TestThreads.start { self.exchange(client) }
            }
        }
        self.loop.withLock { $0 = handle }
    }

    /// Replies dropped so far, and exchanges forwarded whole.
    public var dropped: Int { self.state.withLock { $0.dropped } }
    public var forwarded: Int { self.state.withLock { $0.forwarded } }

    public func stop() { self.listener.close() }

    private func exchange(_ client: BlockingSocket) {
        defer { client.close() }
        client.setReceiveTimeout(seconds: 30)
        guard let request = try? Self.readFrame(client), !request.isEmpty,
            let upstream = try? BlockingSocket.connect(port: self.target)
        else { return }
        defer { upstream.close() }
        upstream.setReceiveTimeout(seconds: 30)
        guard (try? upstream.send(request)) != nil, let reply = try? upstream.receiveAll() else { return }
        let isAgentData = String(decoding: request.prefix(512), as: UTF8.self).contains("\"request\":\"agent data\"")
        let drop = self.state.withLock { state -> Bool in
            if isAgentData, state.toDrop > 0, !reply.isEmpty {
                state.toDrop -= 1
                state.dropped += 1
                return true
            }
            state.forwarded += 1
            return false
        }
        if !drop { try? client.send(reply) }
    }

    /// One ZBXD frame (13-byte header, plain lengths: agentd and senders), or what arrived.
    private static func readFrame(_ socket: BlockingSocket) throws -> [UInt8] {
        var header = try socket.receive(exactly: 13)
        guard header.count == 13, header.starts(with: Array("ZBXD".utf8)) else { return header }
        let length = Int(header[5]) | Int(header[6]) << 8 | Int(header[7]) << 16 | Int(header[8]) << 24
        header += try socket.receive(exactly: length)
        return header
    }
}
