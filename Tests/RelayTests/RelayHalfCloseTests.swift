import Foundation
import Relay
import TestSupport
import Testing

/// Acceptance: half-close is relayed in both directions without losing bytes.
@Suite(.tags(.integration), .tier(.integration), .serialized, .timeLimit(.minutes(3))) struct RelayHalfCloseTests {
    let pattern = PayloadPattern.shared

    @Test func clientThatShutsDownItsOutputAfterTheRequestStillReceivesTheWholeReply() async throws {
        let target = try BlockingListener()
        let pattern = self.pattern
        // The target answers only after the request's end of stream, with 8 MiB, then closes.
        let server = TestThreads.start { () throws -> StreamChecksum in
            let socket = try target.accept()
            let request = try StreamChecksum.receive(from: socket)
            try pattern.send(seed: 7, length: 8 << 20, on: socket)
            socket.close()
            return request
        }
        let relay = try await RelayHarness(targets: [target.port])
        let port = relay.port
        let reply = try await TestThreads.start { () throws -> StreamChecksum in
            let socket = try BlockingSocket.connect(port: port)
            try pattern.send(seed: 3, length: 300, on: socket)
            socket.shutdownWrite()
            return try StreamChecksum.receive(from: socket)
        }.value
        #expect(try await server.value == pattern.checksum(seed: 3, length: 300))
        #expect(reply == pattern.checksum(seed: 7, length: 8 << 20))
        #expect(try await relay.shutdown())
        target.close()
    }

    /// The reply and the server's FIN reach the relay while the client does not read yet, so the
    /// end of the reply is still queued in the relay when the FIN must be passed on.
    ///
    /// Small socket buffers make "still queued" certain instead of depending on kernel autotuning;
    /// several reply sizes cover where the FIN lands relative to the queued writes.
    @Test(arguments: [256 << 10, 384 << 10, 512 << 10, 768 << 10, 2 << 20])
    func clientThatHalfClosedAndReadsSlowlyStillReceivesTheWholeReply(replyLength: Int) async throws {
        let target = try BlockingListener()
        let pattern = self.pattern
        let server = TestThreads.start { () throws -> Void in
            let socket = try target.accept()
            _ = try socket.receiveAll()
            try pattern.send(seed: 5, length: replyLength, on: socket)
            socket.close()
        }
        let relay = try await RelayHarness(targets: [target.port]) {
            $0.socketBufferSize = 64 << 10
            $0.drainTimeout = .seconds(60)
        }
        let port = relay.port
        let started = ContinuousClock.now
        let reply = try await TestThreads.start { () throws -> StreamChecksum in
            let socket = try BlockingSocket.connect(port: port)
            try socket.send("request")
            socket.shutdownWrite()
            usleep(500_000)
            return try StreamChecksum.receive(from: socket)
        }.value
        try await server.value
        #expect(reply == pattern.checksum(seed: 5, length: replyLength))
        // The FIN follows the last queued byte at once, not when the drain timeout gives up.
        #expect(ContinuousClock.now - started < .seconds(20))
        #expect(try await relay.shutdown())
        target.close()
    }

    @Test func serverThatRepliesAndShutsDownItsOutputFirstStillReceivesWhatTheClientSendsAfterwards() async throws {
        let target = try BlockingListener()
        let pattern = self.pattern
        // The target replies and half-closes at once, then keeps reading until the client's EOF.
        let server = TestThreads.start { () throws -> StreamChecksum in
            let socket = try target.accept()
            try pattern.send(seed: 11, length: 1 << 20, on: socket)
            socket.shutdownWrite()
            let received = try StreamChecksum.receive(from: socket)
            socket.close()
            return received
        }
        let relay = try await RelayHarness(targets: [target.port])
        let port = relay.port
        let reply = try await TestThreads.start { () throws -> StreamChecksum in
            let socket = try BlockingSocket.connect(port: port)
            // Read the whole reply up to the server's FIN first, then start sending.
            let reply = try StreamChecksum.receive(from: socket)
            try pattern.send(seed: 13, length: 4 << 20, on: socket)
            socket.shutdownWrite()
            return reply
        }.value
        #expect(reply == pattern.checksum(seed: 11, length: 1 << 20))
        #expect(try await server.value == pattern.checksum(seed: 13, length: 4 << 20))
        #expect(try await relay.shutdown())
        target.close()
    }

    @Test func halfClosedConnectionIsClosedOnceBothDirectionsAreDone() async throws {
        let target = try BlockingListener()
        let server = TestThreads.start { () throws -> [UInt8] in
            let socket = try target.accept()
            let request = try socket.receiveAll()
            try socket.send("pong")
            socket.close()
            return request
        }
        let relay = try await RelayHarness(targets: [target.port])
        let port = relay.port
        let reply = try await TestThreads.start { () throws -> [UInt8] in
            let socket = try BlockingSocket.connect(port: port)
            try socket.send("ping")
            socket.shutdownWrite()
            return try socket.receiveAll()
        }.value
        #expect(reply == Array("pong".utf8))
        #expect(try await server.value == Array("ping".utf8))
        #expect(await eventually { relay.listener.openConnections == 0 }, "the relay closed both channels")
        #expect(try await relay.shutdown())
        target.close()
    }
}
