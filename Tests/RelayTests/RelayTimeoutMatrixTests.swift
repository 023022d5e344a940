import Foundation
import Relay
import TestSupport
import Testing

/// Half-open and held connections are released, on real sockets: each state in which one peer
/// could hold both of a connection's descriptors ends after its own deadline — not after the
/// 15-minute idle timeout — is counted by reason, and closes both sides.
@Suite(.tags(.integration), .tier(.integration), .serialized, .timeLimit(.minutes(2))) struct RelayTimeoutMatrixTests {
    /// Every test's deadline under test is 300 ms; the others are long, so only it can fire.
    static func relay(
        target: BlockingListener,
        _ configure: @escaping (inout RelayListenerConfiguration) -> Void
    ) async throws -> RelayHarness {
        try await RelayHarness(targets: [target.port]) { configuration in
            configuration.idleTimeout = .seconds(60)
            configuration.firstByteTimeout = .seconds(60)
            configuration.clientFinTimeout = .seconds(60)
            configuration.serverReplyTimeout = .seconds(60)
            configuration.drainTimeout = .seconds(60)
            configure(&configuration)
        }
    }

    @Test func aClientThatStaysAfterTheServerClosedIsClosedAfterTheClientFinTimeout() async throws {
        let target = try BlockingListener()
        let server = TestThreads.start { () throws -> [UInt8] in
            let socket = try target.accept()
            let request = try socket.receive(exactly: 7)
            try socket.send("reply")
            socket.close()
            return request
        }
        let relay = try await Self.relay(target: target) { $0.clientFinTimeout = .milliseconds(300) }
        let port = relay.port
        let (reply, waited) = try await TestThreads.start { () throws -> ([UInt8], Duration) in
            let socket = try BlockingSocket.connect(port: port)
            socket.setReceiveTimeout(seconds: 10)
            try socket.send("request")
            let reply = try socket.receiveAll()
            // The client got everything and the server's end of stream, and stays.
            let started = ContinuousClock.now
            while relayOpen(relay) { usleep(10_000) }
            return (reply, ContinuousClock.now - started)
        }.value
        #expect(try await server.value == Array("request".utf8))
        #expect(reply == Array("reply".utf8))
        #expect(
            waited >= .milliseconds(250) && waited < .seconds(10),
            "released after the client FIN timeout, took \(waited)"
        )
        #expect(relay.statistics.connectionsTimedOut(.clientFin) == 1)
        #expect(relay.statistics.connectionsIdleTimedOut == 0)
        #expect(try await relay.shutdown())
        target.close()
    }

    @Test func aServerSilentAfterTheClientFinishedIsClosedAfterTheServerReplyTimeout() async throws {
        let target = try BlockingListener()
        let server = TestThreads.start { () throws -> (BlockingSocket, [UInt8]) in
            let socket = try target.accept()
            socket.setReceiveTimeout(seconds: 10)
            // The whole request and its end of stream, then nothing: the server holds on.
            return (socket, try socket.receiveAll())
        }
        let relay = try await Self.relay(target: target) { $0.serverReplyTimeout = .milliseconds(300) }
        let port = relay.port
        let (reply, waited) = try await TestThreads.start { () throws -> ([UInt8], Duration) in
            let socket = try BlockingSocket.connect(port: port)
            socket.setReceiveTimeout(seconds: 10)
            try socket.send("request")
            socket.shutdownWrite()
            let started = ContinuousClock.now
            return (try socket.receiveAll(), ContinuousClock.now - started)
        }.value
        let (held, request) = try await server.value
        #expect(request == Array("request".utf8))
        #expect(reply.isEmpty, "the client sees the connection end without a reply")
        #expect(waited >= .milliseconds(250) && waited < .seconds(10), "took \(waited)")
        #expect(relay.statistics.connectionsTimedOut(.serverReply) == 1)
        #expect(await eventually { relay.listener.openConnections == 0 })
        held.close()
        #expect(try await relay.shutdown())
        target.close()
    }

    @Test func aClientThatNeverSendsAByteIsClosedAfterTheFirstByteTimeoutOnBothSides() async throws {
        let target = try BlockingListener()
        let server = TestThreads.start { () throws -> [UInt8] in
            let socket = try target.accept()
            socket.setReceiveTimeout(seconds: 10)
            return try socket.receiveAll()
        }
        let relay = try await Self.relay(target: target) { $0.firstByteTimeout = .milliseconds(300) }
        let port = relay.port
        let (received, waited) = try await TestThreads.start { () throws -> ([UInt8], Duration) in
            let socket = try BlockingSocket.connect(port: port)
            socket.setReceiveTimeout(seconds: 10)
            let started = ContinuousClock.now
            return (try socket.receiveAll(), ContinuousClock.now - started)
        }.value
        #expect(received.isEmpty)
        #expect(try await server.value.isEmpty, "the server side was closed too")
        #expect(waited >= .milliseconds(250) && waited < .seconds(10), "took \(waited)")
        #expect(relay.statistics.connectionsTimedOut(.firstByte) == 1)
        #expect(relay.statistics.connectionsIdleTimedOut == 0)
        #expect(try await relay.shutdown())
        target.close()
    }

    @Test func aClientThatSpokeIsNotCutByTheFirstByteTimeout() async throws {
        let target = try BlockingListener()
        let server = TestThreads.start { () throws -> Void in
            let socket = try target.accept()
            socket.setReceiveTimeout(seconds: 10)
            _ = try socket.receive(exactly: 1)
            usleep(600_000)
            try socket.send("late reply")
            socket.close()
        }
        let relay = try await Self.relay(target: target) { $0.firstByteTimeout = .milliseconds(200) }
        let port = relay.port
        let reply = try await TestThreads.start { () throws -> [UInt8] in
            let socket = try BlockingSocket.connect(port: port)
            socket.setReceiveTimeout(seconds: 10)
            try socket.send("x")
            return try socket.receiveAll()
        }.value
        try await server.value
        #expect(reply == Array("late reply".utf8))
        #expect(relay.statistics.connectionsTimedOut(.firstByte) == 0)
        #expect(try await relay.shutdown())
        target.close()
    }

    @Test func aServerThatDoesNotTakeWhatTheDepartedClientSentIsClosedAfterTheDrainTimeout() async throws {
        let target = try BlockingListener()
        let accepted = TestThreads.start { try target.accept() }
        let relay = try await Self.relay(target: target) {
            $0.drainTimeout = .milliseconds(300)
            $0.socketBufferSize = 64 << 10
        }
        let client = try BlockingSocket.connect(port: relay.port)
        let server = try await accepted.value
        // The server reads nothing: the client sends until every buffer on the way is full.
        let chunk = PayloadPattern.shared.bytes(seed: 31, length: 64 << 10)
        var sent = 0
        var quiet = 0
        while quiet < 20 {
            let count = chunk.withUnsafeBytes {
                send(client.fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT | MSG_NOSIGNAL))
            }
            if count > 0 {
                sent += count
                quiet = 0
            } else {
                quiet += 1
                try await Task.sleep(for: .milliseconds(20))
            }
        }
        let started = ContinuousClock.now
        client.reset()
        let released = await eventually(timeout: 10) { relay.listener.openConnections == 0 }
        let waited = ContinuousClock.now - started
        #expect(released)
        #expect(waited >= .milliseconds(250), "the server had the drain timeout to take the bytes; took \(waited)")
        #expect(relay.statistics.connectionsTimedOut(.drain) == 1)
        #expect(relay.statistics.connectionErrors(readingFrom: .clientToServer) == 1, "the client's reset is counted")
        server.setReceiveTimeout(seconds: 10)
        var drained = 0
        while let bytes = try? server.receive(), !bytes.isEmpty { drained += bytes.count }
        #expect(drained > 0 && drained < sent, "the server got a prefix, then the relay's close")
        server.close()
        #expect(try await relay.shutdown())
        target.close()
    }
}

/// Whether the harness's listener still has a connection open (for polling from a test thread).
func relayOpen(_ relay: RelayHarness) -> Bool { relay.listener.openConnections > 0 }
