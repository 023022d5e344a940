import NIOCore
import TestSupport
import Testing

@testable import Riemann

/// The Riemann client's delivery logic on its own: inputs with explicit times in, actions out.
/// No channel, no socket, no clock.
@Suite struct RiemannConnectionStateMachineTests {
    typealias Machine = RiemannConnectionStateMachine
    typealias Action = Machine.Action

    static let first = RiemannServerAddress(host: "riemann-a", port: 5555)
    static let second = RiemannServerAddress(host: "riemann-b", port: 5555)
    static let third = RiemannServerAddress(host: "riemann-c", port: 5555)
    /// Any point in time; every test counts from here.
    static let t0 = NIODeadline.uptimeNanoseconds(1_000_000_000)

    struct Refused: Error {}

    static func configuration(
        _ servers: [RiemannServerAddress] = [first],
        batch: Int = 10,
        delay: Duration = .milliseconds(100)
    ) -> RiemannClientConfiguration {
        var configuration = RiemannClientConfiguration.forTests(servers, batch: batch, delay: delay)
        configuration.acknowledgementTimeout = .milliseconds(200)
        configuration.reconnectBackoffMinimum = .milliseconds(100)
        configuration.reconnectBackoffMaximum = .seconds(1)
        return configuration
    }

    static func events(_ range: Range<Int>) -> [RiemannEvent] {
        range.map { RiemannEvent(service: "e\($0)", host: "h", metric: .sint64(Int64($0))) }
    }

    static func machine(
        _ configuration: RiemannClientConfiguration = configuration(),
        seed: UInt64 = 1
    ) -> (Machine, RiemannEventQueue) {
        let queue = RiemannEventQueue(limits: configuration.queueLimits, overflowPolicy: configuration.overflowPolicy)
        return (
            Machine(configuration: configuration, queue: queue, randomNumberGenerator: SeededGenerator(seed: seed)),
            queue
        )
    }

    /// A machine connected to its first server (connection 1) at `t0`.
    static func connected(_ configuration: RiemannClientConfiguration = configuration()) -> (Machine, RiemannEventQueue)
    {
        var (machine, queue) = Self.machine(configuration)
        _ = machine.start(now: Self.t0)
        _ = machine.connectSucceeded(connection: 1, now: Self.t0)
        return (machine, queue)
    }

    /// The services of every event written by `actions`, one array per message.
    static func writes(_ actions: [Action]) -> [[String]] {
        actions.compactMap {
            guard case .write(let entries, _) = $0 else { return nil }
            return entries.map { $0.event.service ?? "?" }
        }
    }

    static func services(_ range: Range<Int>) -> [String] {
        range.map { "e\($0)" }
    }

    // MARK: - Connecting

    @Test func startConnectsToTheFirstServerOnce() {
        var (machine, _) = Self.machine(Self.configuration([Self.first, Self.second]))
        let actions = machine.start(now: Self.t0)
        #expect(actions.contains(.connect(Self.first, connection: 1)))
        #expect(machine.start(now: Self.t0).isEmpty, "start is idempotent")
    }

    @Test func aFailedConnectMovesToTheNextServerAfterAGrowingJitteredBackoff() {
        var (machine, _) = Self.machine(Self.configuration([Self.first, Self.second]))
        _ = machine.start(now: Self.t0)
        let delays = Self.configuration([Self.first, Self.second]).backoffDelays(3)
        var now = Self.t0
        var expectedServers = [Self.second, Self.first, Self.second]
        for (attempt, delay) in delays.enumerated() {
            let failed = machine.connectFailed(connection: attempt + 1, error: Refused(), now: now)
            #expect(failed.contains(.schedule(.reconnect, at: now + delay)))
            #expect(machine.timerFired(.reconnect, now: now + delay - .nanoseconds(1)).isEmpty, "never early")
            now = now + delay
            let retried = machine.timerFired(.reconnect, now: now)
            #expect(retried.contains(.connect(expectedServers.removeFirst(), connection: attempt + 2)))
        }
        #expect(machine.counters.connectAttemptsFailed == 3)
        // Full jitter below a ceiling that doubles from the minimum: 100, 200, 400 ms.
        #expect(zip(delays, [100, 200, 400]).allSatisfy { $0 <= .milliseconds($1) })
    }

    @Test func backoffJitterComesFromTheInjectedGenerator() {
        func reconnectDeadlines(seed: UInt64) -> [NIODeadline] {
            var (machine, _) = Self.machine(seed: seed)
            _ = machine.start(now: Self.t0)
            var deadlines: [NIODeadline] = []
            for attempt in 1...5 {
                for case .schedule(.reconnect, let at) in machine.connectFailed(
                    connection: attempt,
                    error: Refused(),
                    now: Self.t0
                ) {
                    deadlines.append(at)
                    _ = machine.timerFired(.reconnect, now: at)
                }
            }
            return deadlines
        }
        #expect(reconnectDeadlines(seed: 7) == reconnectDeadlines(seed: 7))
        #expect(reconnectDeadlines(seed: 7) != reconnectDeadlines(seed: 8))
    }

    @Test func aConnectThatCompletesAfterItWasSupersededIsClosed() {
        var (machine, _) = Self.machine(Self.configuration([Self.first, Self.second]))
        _ = machine.start(now: Self.t0)
        var configuration = Self.configuration([Self.second])
        configuration.maximumBatchEvents = 10
        _ = machine.reconfigure(configuration, now: Self.t0)  // connection 2 to the new first server
        #expect(machine.connectSucceeded(connection: 1, now: Self.t0) == [.close(connection: 1)])
        #expect(machine.connectFailed(connection: 1, error: Refused(), now: Self.t0).isEmpty)
        #expect(machine.state == .connecting(serverIndex: 0, connection: 2))
    }

    // MARK: - Batching

    @Test func aPartialBatchIsWrittenExactlyWhenTheBatchDelayHasPassed() {
        var (machine, queue) = Self.connected(Self.configuration(batch: 500, delay: .milliseconds(100)))
        queue.push(Self.events(0..<3))
        let queued = machine.eventsQueued(now: Self.t0 + .milliseconds(5))
        #expect(queued == [.schedule(.batch, at: Self.t0 + .milliseconds(105))])
        #expect(machine.timerFired(.batch, now: Self.t0 + .milliseconds(104)).isEmpty, "not before the delay")
        let fired = machine.timerFired(.batch, now: Self.t0 + .milliseconds(105))
        #expect(Self.writes(fired) == [Self.services(0..<3)])
        #expect(machine.inFlight.map(\.writtenAt) == [Self.t0 + .milliseconds(105)])
    }

    @Test func moreEventsDoNotPostponeAnArmedBatchTimer() {
        var (machine, queue) = Self.connected(Self.configuration(batch: 500, delay: .milliseconds(100)))
        queue.push(Self.events(0..<1))
        _ = machine.eventsQueued(now: Self.t0)
        queue.push(Self.events(1..<2))
        #expect(machine.eventsQueued(now: Self.t0 + .milliseconds(50)).isEmpty)
        #expect(Self.writes(machine.timerFired(.batch, now: Self.t0 + .milliseconds(100))) == [Self.services(0..<2)])
    }

    @Test func fullBatchesAreWrittenAtOnceUpToTheBatchSize() {
        var (machine, queue) = Self.connected(Self.configuration(batch: 10))
        queue.push(Self.events(0..<25))
        let actions = machine.eventsQueued(now: Self.t0)
        #expect(Self.writes(actions) == [Self.services(0..<10), Self.services(10..<20)])
        #expect(actions.contains(.schedule(.batch, at: Self.t0 + .milliseconds(100))), "the last 5 wait for the delay")
        #expect(queue.depth == 5)
    }

    @Test func batchesAreCutToTheByteBudgetAndEveryFrameFitsIt() throws {
        // Events of about 1.2 KB each; a frame of at most 4 KiB carries three of them.
        var configuration = Self.configuration(batch: 500)
        configuration.maximumBatchBytes = 4096
        var (machine, queue) = Self.connected(configuration)
        let events = (0..<10).map {
            RiemannEvent(service: "e\($0)", host: "h", description: String(repeating: "x", count: 1200))
        }
        queue.push(events)
        #expect(queue.statistics.dropped.isEmpty)
        let actions = machine.eventsQueued(now: Self.t0)
        let writes = Self.writes(actions)
        #expect(
            writes == [["e0", "e1", "e2"], ["e3", "e4", "e5"], ["e6", "e7", "e8"]],
            "a full batch in bytes goes at once"
        )
        for case .write(let entries, _) in actions {
            var frame = ByteBuffer()
            try RiemannMessageCodec.encodeFrame(events: entries.map(\.event), into: &frame)
            #expect(frame.readableBytes <= 4096)
            #expect(frame.readableBytes == 4 + entries.reduce(0) { $0 + $1.byteCount }, "sizes are exact")
        }
    }

    @Test func anEventLargerThanAMessageIsDroppedAndCountedNotSent() {
        var configuration = Self.configuration(batch: 10)
        configuration.maximumBatchBytes = 4096
        var (machine, queue) = Self.connected(configuration)
        let huge = RiemannEvent(service: String(repeating: "k", count: 8 << 20), host: "h")
        let result = queue.push([huge] + Self.events(0..<10))
        #expect(result.accepted == 10 && result.dropped == 1)
        #expect(queue.statistics.dropped == [.eventTooLarge: 1])
        #expect(Self.writes(machine.eventsQueued(now: Self.t0)) == [Self.services(0..<10)])
    }

    @Test func lowerByteLimitsDropQueuedEventsThatNoLongerFitAMessageWhenTheirTurnComes() {
        var (machine, queue) = Self.connected(Self.configuration(batch: 10))
        queue.push(
            [RiemannEvent(service: "big", description: String(repeating: "x", count: 10_000))] + Self.events(0..<3)
        )
        var smaller = Self.configuration(batch: 10)
        smaller.maximumBatchBytes = 4096
        queue.reconfigure(limits: smaller.queueLimits, overflowPolicy: smaller.overflowPolicy)
        let actions = machine.reconfigure(smaller, now: Self.t0)  // 10 KB queued: a full batch in bytes
        #expect(Self.writes(actions) == [Self.services(0..<3)])
        #expect(queue.statistics.dropped == [.eventTooLarge: 1])
    }

    // MARK: - In-flight window and replies

    @Test func theInFlightWindowIsRespectedUntilAReplyOpensIt() {
        var (machine, queue) = Self.connected(Self.configuration(batch: 10))
        queue.push(Self.events(0..<1_000))
        #expect(Self.writes(machine.eventsQueued(now: Self.t0)).count == 8)
        #expect(machine.inFlight.count == 8 && machine.eventsInFlight == 80)
        #expect(!machine.canSend)
        #expect(Self.writes(machine.eventsQueued(now: Self.t0)).isEmpty, "nothing more without a reply")
        #expect(queue.depth == 920)
        let reply = machine.replyReceived(.ack, connection: 1, now: Self.t0 + .milliseconds(3))
        #expect(Self.writes(reply) == [Self.services(80..<90)])
        #expect(reply.contains(.recordAcknowledgementLatency(.milliseconds(3))))
        #expect(queue.statistics.acknowledged == 10)
    }

    @Test func repliesAnswerMessagesInWriteOrderAndARejectionDropsOnlyItsMessage() {
        var (machine, queue) = Self.connected(Self.configuration(batch: 10))
        queue.push(Self.events(0..<35))
        _ = machine.eventsQueued(now: Self.t0)
        _ = machine.timerFired(.batch, now: Self.t0 + .milliseconds(100))  // the last 5
        #expect(machine.inFlight.map(\.entries.count) == [10, 10, 10, 5])
        for _ in 0..<3 {
            _ = machine.replyReceived(.ack, connection: 1, now: Self.t0 + .milliseconds(150))
        }
        let rejected = machine.replyReceived(
            RiemannMessage(ok: false, error: "last one"),
            connection: 1,
            now: Self.t0 + .milliseconds(150)
        )
        #expect(rejected.contains(.log(.rejected(error: "last one", events: 5))))
        #expect(queue.statistics.acknowledged == 30)
        #expect(queue.statistics.dropped == [.rejectedByServer: 5])
        #expect(machine.counters.messagesRejected == 1)
        #expect(machine.counters.connectionsLost == 0, "ok=false is an answer, not a broken connection")
    }

    @Test func aReplyNobodyAskedForGivesUpTheConnection() {
        var (machine, _) = Self.connected()
        let actions = machine.replyReceived(.ack, connection: 1, now: Self.t0)
        #expect(actions.contains(.close(connection: 1)))
        #expect(machine.counters.connectionsLost == 1)
        guard case .waitingToReconnect(0, _) = machine.state else {
            Issue.record("not reconnecting: \(machine.state)")
            return
        }
    }

    // MARK: - Acknowledgement timeout, redelivery

    @Test func anUnacknowledgedMessageTimesOutExactlyAtTheAckTimeoutAndIsRedelivered() {
        var (machine, queue) = Self.connected(Self.configuration(batch: 5))
        queue.push(Self.events(0..<5))
        let written = machine.eventsQueued(now: Self.t0)
        #expect(written.contains(.schedule(.acknowledgement, at: Self.t0 + .milliseconds(200))))
        #expect(machine.timerFired(.acknowledgement, now: Self.t0 + .milliseconds(199)).isEmpty)

        let timeout = Self.t0 + .milliseconds(200)
        let timedOut = machine.timerFired(.acknowledgement, now: timeout)
        let delay = Self.configuration().backoffDelays(1)[0]
        #expect(timedOut.contains(.close(connection: 1)))
        #expect(
            timedOut.contains(
                .log(
                    .connectionLost(
                        Self.first,
                        cause: .acknowledgementTimeout(messagesInFlight: 1),
                        requeued: 5,
                        retryIn: delay
                    )
                )
            )
        )
        #expect(timedOut.contains(.schedule(.reconnect, at: timeout + delay)))
        #expect(machine.counters.acknowledgementTimeouts == 1 && machine.counters.connectionsLost == 1)
        #expect(queue.statistics.requeued == 5 && queue.depth == 5)

        // The same server again; the events go out first, as they were.
        let retried = machine.timerFired(.reconnect, now: timeout + delay)
        #expect(retried.contains(.connect(Self.first, connection: 2)))
        let reconnected = machine.connectSucceeded(connection: 2, now: timeout + delay)
        #expect(Self.writes(reconnected) == [Self.services(0..<5)])
        #expect(
            machine.connectionClosed(connection: 1, error: nil, now: timeout + delay).isEmpty,
            "the old close is stale"
        )
    }

    @Test func theAckTimerFollowsTheOldestMessage() {
        var (machine, queue) = Self.connected(Self.configuration(batch: 5))
        queue.push(Self.events(0..<5))
        _ = machine.eventsQueued(now: Self.t0)
        queue.push(Self.events(5..<10))
        _ = machine.eventsQueued(now: Self.t0 + .milliseconds(50))
        let replied = machine.replyReceived(.ack, connection: 1, now: Self.t0 + .milliseconds(60))
        #expect(replied.contains(.schedule(.acknowledgement, at: Self.t0 + .milliseconds(250))))
        let last = machine.replyReceived(.ack, connection: 1, now: Self.t0 + .milliseconds(70))
        #expect(last.contains(.cancel(.acknowledgement)))
        #expect(machine.timerFired(.acknowledgement, now: Self.t0 + .milliseconds(250)).isEmpty)
    }

    @Test func eventsWrittenTooOftenAreDroppedAsExhausted() {
        var configuration = Self.configuration(batch: 5)
        configuration.maximumDeliveryAttempts = 2
        var (machine, queue) = Self.connected(configuration)
        queue.push(Self.events(0..<5))
        var now = Self.t0
        var connection = 1
        var written: [[String]] = Self.writes(machine.eventsQueued(now: now))
        for _ in 0..<2 {
            now = now + .milliseconds(200)
            for case .schedule(.reconnect, let at) in machine.timerFired(.acknowledgement, now: now) { now = at }
            _ = machine.timerFired(.reconnect, now: now)
            connection += 1
            written += Self.writes(machine.connectSucceeded(connection: connection, now: now))
        }
        #expect(written == [Self.services(0..<5), Self.services(0..<5)], "two attempts each, then no more")
        #expect(queue.statistics.dropped == [.deliveryAttemptsExhausted: 5])
        #expect(queue.statistics.requeued == 5)
    }

    @Test func aLostConnectionRequeuesEverythingUnacknowledgedInOrderAheadOfNewerEvents() {
        var (machine, queue) = Self.connected(Self.configuration([Self.first, Self.second], batch: 10))
        queue.push(Self.events(0..<30))
        _ = machine.eventsQueued(now: Self.t0)
        _ = machine.replyReceived(.ack, connection: 1, now: Self.t0)
        queue.push(Self.events(30..<35))
        let lost = machine.connectionClosed(connection: 1, error: Refused(), now: Self.t0)
        #expect(!lost.contains(.close(connection: 1)), "already closed")
        #expect(queue.depth == 25)
        #expect(machine.counters.connectionsLost == 1)
        // The same server first; when it refuses, the next one gets everything, oldest first.
        for case .schedule(.reconnect, let at) in lost {
            #expect(machine.timerFired(.reconnect, now: at).contains(.connect(Self.first, connection: 2)))
            for case .schedule(.reconnect, let next) in machine.connectFailed(connection: 2, error: Refused(), now: at)
            {
                #expect(machine.timerFired(.reconnect, now: next).contains(.connect(Self.second, connection: 3)))
                let written = Self.writes(machine.connectSucceeded(connection: 3, now: next))
                #expect(written == [Self.services(10..<20), Self.services(20..<30), Self.services(30..<35)])
            }
        }
        #expect(machine.connectedServerIndex == 1)
    }

    @Test func aFailedWriteIsAConnectionLoss() {
        var (machine, queue) = Self.connected()
        queue.push(Self.events(0..<10))
        _ = machine.eventsQueued(now: Self.t0)
        let actions = machine.writeFailed(connection: 1, error: Refused(), now: Self.t0)
        #expect(actions.contains(.close(connection: 1)))
        #expect(queue.depth == 10 && machine.inFlight.isEmpty)
    }

    // MARK: - Reconfiguration

    @Test func reconfigureKeepsAServerStillListedAtItsNewPosition() {
        var (machine, queue) = Self.connected(Self.configuration([Self.first, Self.second]))
        queue.push(Self.events(0..<10))
        _ = machine.eventsQueued(now: Self.t0)
        let actions = machine.reconfigure(Self.configuration([Self.third, Self.first]), now: Self.t0)
        #expect(!actions.contains { if case .connect = $0 { true } else { false } }, "no reconnect")
        #expect(machine.state == .connected(serverIndex: 1, connection: 1))
        #expect(machine.inFlight.count == 1)
    }

    @Test func reconfigureLeavesARemovedServerAndSendsItsUnacknowledgedEventsToTheNewFirst() {
        var (machine, queue) = Self.connected(Self.configuration([Self.first], batch: 10))
        queue.push(Self.events(0..<30))
        _ = machine.eventsQueued(now: Self.t0)
        let actions = machine.reconfigure(Self.configuration([Self.second], batch: 10), now: Self.t0)
        #expect(actions.contains(.close(connection: 1)))
        #expect(actions.contains(.connect(Self.second, connection: 2)))
        #expect(actions.contains(.log(.serverRemoved(Self.first, next: Self.second, requeued: 30))))
        #expect(Self.writes(machine.connectSucceeded(connection: 2, now: Self.t0)).joined().count == 30)
        #expect(queue.statistics.droppedTotal == 0)
    }

    @Test func reconfigureWhileWaitingMovesOrAbandonsTheWait() {
        var (machine, _) = Self.machine(Self.configuration([Self.first, Self.second]))
        _ = machine.start(now: Self.t0)
        _ = machine.connectFailed(connection: 1, error: Refused(), now: Self.t0)  // waits for `second`
        _ = machine.reconfigure(Self.configuration([Self.second, Self.third]), now: Self.t0)
        guard case .waitingToReconnect(0, _) = machine.state else {
            Issue.record("the wait should move with the server: \(machine.state)")
            return
        }
        let abandoned = machine.reconfigure(Self.configuration([Self.third]), now: Self.t0)
        #expect(abandoned.contains(.cancel(.reconnect)))
        #expect(abandoned.contains(.connect(Self.third, connection: 2)))
    }

    @Test func anEmptyServerListKeepsTheServersInUse() {
        var (machine, _) = Self.connected(Self.configuration([Self.first]))
        #expect(machine.reconfigure(Self.configuration([]), now: Self.t0).isEmpty)
        #expect(machine.configuration.servers == [Self.first])
    }

    @Test func countsBelowTheirMinimumAreRaisedInsteadOfStoppingTheClient() {
        var configuration = Self.configuration()
        configuration.maximumBatchEvents = 0
        configuration.maximumMessagesInFlight = -3
        var (machine, queue) = Self.connected(configuration)
        queue.push(Self.events(0..<2))
        #expect(Self.writes(machine.eventsQueued(now: Self.t0)).count == 1, "one event, one message, one in flight")
    }

    // MARK: - Shutdown

    @Test func shutdownFlushesPartialBatchesAndCompletesOnceEverythingIsAcknowledged() {
        var (machine, queue) = Self.connected(Self.configuration(batch: 100, delay: .seconds(60)))
        queue.push(Self.events(0..<150))
        _ = machine.eventsQueued(now: Self.t0)
        let shutdown = machine.shutdown(deadline: Self.t0 + .seconds(20), now: Self.t0)
        #expect(Self.writes(shutdown) == [Self.services(100..<150)], "the partial batch goes without its delay")
        #expect(!shutdown.contains(.completeShutdown))
        _ = machine.replyReceived(.ack, connection: 1, now: Self.t0)
        let last = machine.replyReceived(.ack, connection: 1, now: Self.t0)
        #expect(last.contains(.completeShutdown))
        #expect(last.contains(.log(.shutDown(reason: "queue flushed", unsent: 0, unacknowledged: 0))))
        #expect(machine.state == .shutDown)
        #expect(machine.shutdown(deadline: Self.t0, now: Self.t0) == [.completeShutdown], "idempotent")
        queue.push(Self.events(0..<3))
        #expect(queue.statistics.dropped == [.shutdown: 3])
    }

    @Test func shutdownGivesUpExactlyAtTheDeadlineAndCountsTheRest() {
        var (machine, queue) = Self.connected(Self.configuration(batch: 10))
        queue.push(Self.events(0..<200))
        _ = machine.eventsQueued(now: Self.t0)
        let deadline = Self.t0 + .milliseconds(300)
        #expect(machine.shutdown(deadline: deadline, now: Self.t0).contains(.schedule(.drain, at: deadline)))
        #expect(machine.shutdown(deadline: Self.t0, now: Self.t0).isEmpty, "a second call keeps the first deadline")
        #expect(machine.timerFired(.drain, now: deadline - .nanoseconds(1)).isEmpty)
        let finished = machine.timerFired(.drain, now: deadline)
        #expect(finished.contains(.completeShutdown))
        #expect(finished.contains(.close(connection: 1)))
        #expect(finished.contains(.log(.shutDown(reason: "flush deadline passed", unsent: 120, unacknowledged: 80))))
        #expect(queue.statistics.dropped == [.shutdown: 200])
    }

    @Test func shutdownWithoutAServerEndsAtTheDeadline() {
        var (machine, queue) = Self.machine()
        _ = machine.start(now: Self.t0)
        queue.push(Self.events(0..<3))
        #expect(!machine.shutdown(deadline: Self.t0 + .milliseconds(200), now: Self.t0).contains(.completeShutdown))
        #expect(machine.timerFired(.drain, now: Self.t0 + .milliseconds(200)).contains(.completeShutdown))
        #expect(queue.statistics.dropped == [.shutdown: 3])
        #expect(machine.connectSucceeded(connection: 1, now: Self.t0) == [.close(connection: 1)], "late connect closed")
    }

    @Test func shutdownBeforeStartEndsAtOnce() {
        var (machine, _) = Self.machine()
        #expect(machine.shutdown(deadline: Self.t0 + .seconds(1), now: Self.t0).contains(.completeShutdown))
        #expect(machine.start(now: Self.t0).isEmpty)
    }
}
