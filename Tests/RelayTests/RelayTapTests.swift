import Foundation
import NIOCore
import Relay
import TestSupport
import Testing

/// The tap sees exactly the relayed bytes and has no say over them.
@Suite(.tags(.integration), .tier(.integration), .serialized, .timeLimit(.minutes(3))) struct RelayTapTests {
    /// Records what a tap was shown, per connection.
    final class RecordingTapFactory: RelayTapFactory, @unchecked Sendable {
        let lock = NSLock()
        var streams: [RelayDirection: [UInt8]] = [:]
        var ends: [RelayDirection] = []
        var closes = 0
        var infos: [RelayConnectionInfo] = []
        let throwAfter: Int?

        init(throwAfter: Int? = nil) {
            self.throwAfter = throwAfter
        }

        func makeTap(for connection: RelayConnectionInfo) -> (any RelayConnectionTap)? {
            self.lock.withLock { self.infos.append(connection) }
            return Tap(factory: self)
        }

        final class Tap: RelayConnectionTap {
            let factory: RecordingTapFactory
            var calls = 0
            init(factory: RecordingTapFactory) { self.factory = factory }

            struct Boom: Error {}

            func observe(_ bytes: UnsafeRawBufferPointer, direction: RelayDirection) throws {
                self.calls += 1
                if let limit = self.factory.throwAfter, self.calls > limit { throw Boom() }
                self.factory.lock.withLock { self.factory.streams[direction, default: []] += Array(bytes) }
            }

            func endOfStream(_ direction: RelayDirection) throws {
                self.factory.lock.withLock { self.factory.ends.append(direction) }
            }

            func connectionClosed() {
                self.factory.lock.withLock { self.factory.closes += 1 }
            }
        }
    }

    /// One exchange: the client sends `request` and half-closes; the server answers `reply` and closes.
    static func exchange(
        relay: RelayHarness,
        target: BlockingListener,
        request: [UInt8],
        reply: [UInt8]
    ) async throws -> ([UInt8], [UInt8]) {
        let server = TestThreads.start { () throws -> [UInt8] in
            let socket = try target.accept()
            let received = try socket.receiveAll()
            try socket.send(reply)
            socket.close()
            return received
        }
        let port = relay.port
        let clientReceived = try await TestThreads.start { () throws -> [UInt8] in
            let socket = try BlockingSocket.connect(port: port)
            try socket.send(request)
            socket.shutdownWrite()
            return try socket.receiveAll()
        }.value
        return (try await server.value, clientReceived)
    }

    @Test func tapSeesExactlyTheRelayedBytesInEachDirection() async throws {
        let factory = RecordingTapFactory()
        let target = try BlockingListener()
        let relay = try await RelayHarness(targets: [target.port], tapFactory: factory)
        let request = PayloadPattern.shared.bytes(seed: 1, length: 300_000)
        let reply = PayloadPattern.shared.bytes(seed: 2, length: 700_000)
        let (serverGot, clientGot) = try await Self.exchange(
            relay: relay,
            target: target,
            request: request,
            reply: reply
        )
        #expect(serverGot == request)
        #expect(clientGot == reply)
        #expect(await eventually { factory.lock.withLock { factory.closes == 1 } })
        factory.lock.withLock {
            #expect(factory.streams[.clientToServer] == request)
            #expect(factory.streams[.serverToClient] == reply)
            #expect(Set(factory.ends) == [.clientToServer, .serverToClient])
            #expect(factory.infos.count == 1)
            #expect(factory.infos.first?.listener == "test")
            #expect(factory.infos.first?.target.port == target.port)
        }
        #expect(try await relay.shutdown())
        target.close()
    }

    @Test func throwingTapIsDetachedAndTheRelayCarriesOnUnchanged() async throws {
        let factory = RecordingTapFactory(throwAfter: 1)
        let target = try BlockingListener()
        let relay = try await RelayHarness(targets: [target.port], tapFactory: factory)
        let request = PayloadPattern.shared.bytes(seed: 3, length: 2 << 20)
        let reply = PayloadPattern.shared.bytes(seed: 4, length: 3 << 20)
        let (serverGot, clientGot) = try await Self.exchange(
            relay: relay,
            target: target,
            request: request,
            reply: reply
        )
        #expect(serverGot == request)
        #expect(clientGot == reply)
        #expect(relay.statistics.tapFailuresCount == 1)
        #expect(
            await eventually { factory.lock.withLock { factory.closes == 1 } },
            "a detached tap is told the connection closed, once"
        )
        #expect(try await relay.shutdown())
        target.close()
    }
}
