import Foundation
import NIOCore
import Relay
import TestSupport
import Testing

/// Acceptance: connect failures and timeouts move on to the next target; with none left the
/// client is closed at once and counted; a failed target cools down.
@Suite(.tags(.integration), .tier(.integration), .serialized, .timeLimit(.minutes(3))) struct TargetSelectionTests {
    /// A target that answers every connection with its name and closes.
    final class NamedTarget: Sendable {
        let listener: BlockingListener
        let name: String
        private let thread: TestThreads.Handle<Void>

        init(_ name: String) throws {
            let listener = try BlockingListener()
            self.listener = listener
            self.name = name
            self.thread = TestThreads.start {
                while let socket = try? listener.accept() {
                    try? socket.send(name)
                    socket.close()
                }
            }
        }

        var port: Int { self.listener.port }
        func stop() { self.listener.close() }
    }

    /// Connects through the relay and returns what arrives before end of stream.
    static func exchange(port: Int) async throws -> String {
        try await TestThreads.start { () throws -> String in
            let socket = try BlockingSocket.connect(port: port)
            socket.setReceiveTimeout(seconds: 20)
            return String(decoding: try socket.receiveAll(), as: UTF8.self)
        }.value
    }

    @Test func refusedFirstTargetFallsThroughToTheSecond() async throws {
        let refusing = try BlockingListener.refusingPort()
        let second = try NamedTarget("second")
        let relay = try await RelayHarness(targets: [refusing, second.port])
        #expect(try await Self.exchange(port: relay.port) == "second")
        #expect(relay.listener.targetPool.statistics[0].failedConnects == 1)
        #expect(relay.listener.targetPool.statistics[1].successfulConnects == 1)
        #expect(try await relay.shutdown())
        second.stop()
    }

    @Test func coolingTargetIsSkippedUntilItsCoolDownEnds() async throws {
        let refusing = try BlockingListener.refusingPort()
        let second = try NamedTarget("second")
        // Long enough that three exchanges fit in it on a loaded machine (800 ms did not).
        let relay = try await RelayHarness(targets: [refusing, second.port]) { $0.targetCoolDown = .seconds(2) }
        let pool = relay.listener.targetPool
        let started = ContinuousClock.now
        #expect(try await Self.exchange(port: relay.port) == "second")
        #expect(pool.statistics[0].failedConnects == 1)
        // Within the cool-down the failed target is not tried again.
        for _ in 0..<3 { #expect(try await Self.exchange(port: relay.port) == "second") }
        #expect(pool.statistics[0].failedConnects == 1)
        // After it, the first target is tried again (and fails again). The cool-down started at
        // the failure, a little after `started`: half a second of margin either way.
        try await Task.sleep(until: started + .milliseconds(2_500))
        #expect(try await Self.exchange(port: relay.port) == "second")
        #expect(pool.statistics[0].failedConnects == 2)
        #expect(try await relay.shutdown())
        second.stop()
    }

    @Test func allTargetsRefusingClosesTheClientAtOnceAndCountsIt() async throws {
        let relay = try await RelayHarness(targets: [
            try BlockingListener.refusingPort(), try BlockingListener.refusingPort(),
        ])
        let started = ContinuousClock.now
        #expect(try await Self.exchange(port: relay.port) == "")
        #expect(ContinuousClock.now - started < .seconds(2), "closed at once, well within the connect timeout")
        #expect(relay.statistics.connectionsWithoutTarget == 1)
        #expect(relay.listener.targetPool.statistics.map(\.failedConnects) == [1, 1])
        #expect(try await relay.shutdown())
    }

    @Test func unansweredConnectTimesOutAndMovesOnToTheNextTarget() async throws {
        let blackHole = try BlackHoleListener()
        let second = try NamedTarget("second")
        let relay = try await RelayHarness(targets: [blackHole.port, second.port]) {
            $0.connectTimeout = .milliseconds(300)
        }
        let started = ContinuousClock.now
        #expect(try await Self.exchange(port: relay.port) == "second")
        let elapsed = ContinuousClock.now - started
        #expect(elapsed >= .milliseconds(250) && elapsed < .seconds(5), "took \(elapsed)")
        #expect(relay.listener.targetPool.statistics[0].failedConnects == 1)
        #expect(try await relay.shutdown())
        second.stop()
        blackHole.close()
    }

    @Test func allTargetsTimingOutClosesTheClientWithinTheConnectTimeouts() async throws {
        let blackHole = try BlackHoleListener()
        let relay = try await RelayHarness(targets: [blackHole.port]) { $0.connectTimeout = .milliseconds(300) }
        let started = ContinuousClock.now
        #expect(try await Self.exchange(port: relay.port) == "")
        #expect(ContinuousClock.now - started < .seconds(3))
        #expect(relay.statistics.connectionsWithoutTarget == 1)
        #expect(try await relay.shutdown())
        blackHole.close()
    }

    @Test func roundRobinSpreadsConnectionsOverTheTargets() async throws {
        let first = try NamedTarget("first")
        let second = try NamedTarget("second")
        let relay = try await RelayHarness(targets: [first.port, second.port]) { $0.balance = .roundRobin }
        var answers: [String] = []
        for _ in 0..<4 { answers.append(try await Self.exchange(port: relay.port)) }
        #expect(answers == ["first", "second", "first", "second"])
        #expect(try await relay.shutdown())
        first.stop()
        second.stop()
    }

    @Test func randomUsesBothTargets() async throws {
        let first = try NamedTarget("first")
        let second = try NamedTarget("second")
        let relay = try await RelayHarness(targets: [first.port, second.port]) { $0.balance = .random }
        var answers = Set<String>()
        for _ in 0..<30 { answers.insert(try await Self.exchange(port: relay.port)) }
        #expect(answers == ["first", "second"])
        #expect(try await relay.shutdown())
        first.stop()
        second.stop()
    }

    @Test func connectionsBeyondTheLimitAreClosedAndCounted() async throws {
        let target = try BlockingListener()
        let held = TestThreads.start { try target.accept() }
        let relay = try await RelayHarness(targets: [target.port]) { $0.maxConnections = 1 }
        let port = relay.port
        let first = try await TestThreads.start { try BlockingSocket.connect(port: port) }.value
        let server = try await held.value
        #expect(await eventually { relay.listener.openConnections == 1 })
        #expect(try await Self.exchange(port: port) == "", "the second connection is closed at once")
        #expect(relay.statistics.connectionsRefused(.maxConnections) == 1)
        first.close()
        server.close()
        #expect(try await relay.shutdown())
        target.close()
    }
}

/// Bytes and end of stream that arrive while the tee is still connecting to a target.
@Suite(.tags(.integration), .tier(.integration), .serialized, .timeLimit(.minutes(3))) struct EarlyClientBytesTests {
    /// NIO reads a socket to its end as soon as the peer's FIN arrives, even with autoRead off,
    /// so a client that sends everything and half-closes while the tee is still connecting must
    /// not lose those bytes (nor its FIN).
    @Test func requestAndEndOfStreamSentDuringTheTargetConnectAreDelivered() async throws {
        let blackHole = try BlackHoleListener()
        let target = try BlockingListener()
        let server = TestThreads.start { () throws -> StreamChecksum in
            let socket = try target.accept()
            socket.setReceiveTimeout(seconds: 20)
            let request = try StreamChecksum.receive(from: socket)
            try socket.send("reply")
            socket.close()
            return request
        }
        let relay = try await RelayHarness(targets: [blackHole.port, target.port]) {
            $0.connectTimeout = .milliseconds(500)
        }
        let port = relay.port
        let pattern = PayloadPattern.shared
        let reply = try await TestThreads.start { () throws -> [UInt8] in
            let socket = try BlockingSocket.connect(port: port)
            socket.setReceiveTimeout(seconds: 20)
            try pattern.send(seed: 77, length: 40_000, on: socket)
            socket.shutdownWrite()
            return try socket.receiveAll()
        }.value
        #expect(reply == Array("reply".utf8))
        #expect(try await server.value == pattern.checksum(seed: 77, length: 40_000))
        #expect(try await relay.shutdown())
        blackHole.close()
        target.close()
    }
}
