import Foundation
import Relay
import TestSupport
import Testing

/// Resets and early closes: what one side already sent is delivered where the other side can
/// still take it, then both channels close; nothing hangs and nothing leaks.
@Suite(.tags(.integration), .tier(.integration), .serialized, .timeLimit(.minutes(3))) struct RelayFaultTests {
    let pattern = PayloadPattern.shared

    @Test func serverResettingMidReplyStillDeliversWhatItSentAndClosesTheClient() async throws {
        let target = try BlockingListener()
        let pattern = self.pattern
        let server = TestThreads.start { () throws -> Void in
            let socket = try target.accept()
            _ = try socket.receive()
            try pattern.send(seed: 21, length: 100_000, on: socket)
            socket.waitUntilAcknowledged()  // a reset discards what the relay has not acknowledged
            socket.reset()
        }
        let relay = try await RelayHarness(targets: [target.port])
        let port = relay.port
        let reply = try await TestThreads.start { () throws -> StreamChecksum in
            let socket = try BlockingSocket.connect(port: port)
            socket.setReceiveTimeout(seconds: 10)
            try socket.send("request")
            return try StreamChecksum.receive(from: socket)
        }.value
        try await server.value
        #expect(reply == pattern.checksum(seed: 21, length: 100_000))
        #expect(await eventually { relay.listener.openConnections == 0 })
        #expect(relay.statistics.connectionErrors(readingFrom: .serverToClient) == 1, "the target's reset is counted")
        #expect(relay.statistics.connectionErrors(readingFrom: .clientToServer) == 0)
        #expect(try await relay.shutdown())
        target.close()
    }

    @Test func clientResettingMidRequestStillDeliversWhatItSentAndClosesTheServer() async throws {
        let target = try BlockingListener()
        let server = TestThreads.start { () throws -> StreamChecksum in
            let socket = try target.accept()
            socket.setReceiveTimeout(seconds: 10)
            return try StreamChecksum.receive(from: socket)
        }
        let relay = try await RelayHarness(targets: [target.port])
        let port = relay.port
        let pattern = self.pattern
        try await TestThreads.start { () throws -> Void in
            let socket = try BlockingSocket.connect(port: port)
            try pattern.send(seed: 22, length: 50_000, on: socket)
            socket.waitUntilAcknowledged()  // a reset discards what the relay has not acknowledged
            socket.reset()
        }.value
        #expect(try await server.value == pattern.checksum(seed: 22, length: 50_000))
        #expect(await eventually { relay.listener.openConnections == 0 })
        #expect(relay.statistics.connectionErrors(readingFrom: .clientToServer) == 1, "the client's reset is counted")
        #expect(relay.statistics.connectionErrors(readingFrom: .serverToClient) == 0)
        #expect(try await relay.shutdown())
        target.close()
    }

    @Test func serverClosingWithoutReadingStillGetsItsReplyToTheClient() async throws {
        let target = try BlockingListener()
        let server = TestThreads.start { () throws -> Void in
            let socket = try target.accept()
            try socket.send("bye")
            socket.close()
        }
        let relay = try await RelayHarness(targets: [target.port])
        let port = relay.port
        let pattern = self.pattern
        let received = try await TestThreads.start { () throws -> [UInt8] in
            let socket = try BlockingSocket.connect(port: port)
            socket.setReceiveTimeout(seconds: 10)
            // Keep sending into a server that is gone; the relay must not hang or crash.
            try? pattern.send(seed: 23, length: 8 << 20, on: socket)
            return (try? socket.receiveAll()) ?? []
        }.value
        try await server.value
        #expect(received.isEmpty || received == Array("bye".utf8))
        #expect(await eventually { relay.listener.openConnections == 0 })
        #expect(try await relay.shutdown())
        target.close()
    }

    @Test func serverReplyArrivesEvenWhenTheServerClosesBeforeTheClientSendsMore() async throws {
        let target = try BlockingListener()
        let server = TestThreads.start { () throws -> Void in
            let socket = try target.accept()
            _ = try socket.receive()
            try socket.send("reply")
            socket.close()
        }
        let relay = try await RelayHarness(targets: [target.port])
        let port = relay.port
        let reply = try await TestThreads.start { () throws -> [UInt8] in
            let socket = try BlockingSocket.connect(port: port)
            socket.setReceiveTimeout(seconds: 10)
            try socket.send("request")
            return try socket.receiveAll()
        }.value
        try await server.value
        #expect(reply == Array("reply".utf8))
        #expect(await eventually { relay.listener.openConnections == 0 })
        #expect(relay.statistics.connectionErrors(readingFrom: .clientToServer) == 0, "a normal close is no error")
        #expect(relay.statistics.connectionErrors(readingFrom: .serverToClient) == 0)
        #expect(try await relay.shutdown())
        target.close()
    }

    @Test func connectionWithoutTrafficIsClosedAfterTheIdleTimeout() async throws {
        let target = try BlockingListener()
        let held = TestThreads.start { try target.accept() }
        let relay = try await RelayHarness(targets: [target.port]) { $0.idleTimeout = .milliseconds(300) }
        let port = relay.port
        let started = ContinuousClock.now
        let received = try await TestThreads.start { () throws -> [UInt8] in
            let socket = try BlockingSocket.connect(port: port)
            socket.setReceiveTimeout(seconds: 10)
            return try socket.receiveAll()
        }.value
        #expect(received.isEmpty)
        #expect(ContinuousClock.now - started >= .milliseconds(250))
        #expect(relay.statistics.connectionsIdleTimedOut == 1)
        let server = try await held.value
        server.setReceiveTimeout(seconds: 10)
        #expect(try server.receiveAll().isEmpty, "the server side was closed too")
        #expect(try await relay.shutdown())
        target.close()
    }
}
