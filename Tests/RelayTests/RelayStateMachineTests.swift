import NIOCore
import Relay
import Testing

/// Every transition of the relay's state machine, without sockets or clocks: events in, the
/// actions that follow out.
@Suite struct RelayStateMachineTests {
    typealias Machine = RelayStateMachine
    typealias Action = RelayStateMachine.Action

    static let start = NIODeadline.uptimeNanoseconds(1_000_000_000)
    static let timeouts = RelayTimeouts(
        connect: .seconds(5),
        firstByte: .seconds(30),
        idle: .seconds(900),
        drain: .seconds(30),
        clientFin: .seconds(10),
        serverReply: .seconds(620)
    )

    static func at(_ seconds: Double) -> NIODeadline {
        Self.start + .nanoseconds(Int64(seconds * 1e9))
    }

    /// A machine admitted, connected (immediately) and tapped, with nothing read yet.
    static func relaying(targets: Int = 1, more: Bool = false, tapped: Bool = true) -> Machine {
        var machine = Machine(
            timeouts: Self.timeouts,
            targetCount: targets,
            moreBeforeEndOfStream: more,
            now: Self.start
        )
        #expect(machine.nextAction() == .admit)
        machine.admitted()
        #expect(machine.nextAction() == .connect(attempt: 0))
        machine.connectResult(.connected, now: Self.start)
        #expect(machine.nextAction() == .established(attempt: 0))
        if tapped { machine.tapAttached() }
        #expect(machine.nextAction() == nil)
        return machine
    }

    // MARK: - Admission and connect

    @Test func anAcceptedConnectionIsAdmittedThenConnectsToTheFirstCandidate() {
        var machine = Machine(timeouts: Self.timeouts, targetCount: 2, now: Self.start)
        #expect(machine.phase == .admitting)
        #expect(machine.nextAction() == .admit)
        #expect(machine.nextAction() == nil, "nothing happens before admission answers")
        machine.admitted()
        #expect(machine.nextAction() == .connect(attempt: 0))
        machine.connectResult(.inProgress, now: Self.start)
        #expect(machine.phase == .connecting(.inProgress(attempt: 0, since: Self.start)))
        #expect(machine.deadline == Self.at(5))
        #expect(machine.nextAction() == nil)
        machine.ready(.server, [.writable], now: Self.at(0.1))
        #expect(machine.nextAction() == .established(attempt: 0))
        #expect(machine.phase == .relaying)
    }

    @Test func aRefusedConnectionClosesTheClientAndFinishesWithoutConnecting() {
        var machine = Machine(timeouts: Self.timeouts, targetCount: 1, now: Self.start)
        #expect(machine.nextAction() == .admit)
        machine.refused()
        #expect(machine.nextAction() == .close(.client))
        #expect(machine.nextAction() == .finish)
        #expect(machine.isFinished)
        #expect(machine.nextAction() == nil)
    }

    @Test func theClientIsNotReadWhileTheTargetIsConnecting() {
        var machine = Machine(timeouts: Self.timeouts, targetCount: 1, now: Self.start)
        _ = machine.nextAction()
        machine.admitted()
        _ = machine.nextAction()
        machine.connectResult(.inProgress, now: Self.start)
        machine.ready(.client, [.readable, .peerClosed], now: Self.at(0.01))
        #expect(machine.nextAction() == nil, "the request stays in the kernel until there is somewhere to send it")
        machine.ready(.server, [.writable], now: Self.at(0.02))
        #expect(machine.nextAction() == .established(attempt: 0))
        #expect(machine.nextAction() == .read(.client))
    }

    @Test func aFailedConnectIsReportedItsSocketClosedAndTheNextCandidateTried() {
        var machine = Machine(timeouts: Self.timeouts, targetCount: 2, now: Self.start)
        _ = machine.nextAction()
        machine.admitted()
        _ = machine.nextAction()
        machine.connectResult(.inProgress, now: Self.start)
        machine.ready(.server, [.writable, .error, .hangup], now: Self.at(0.01))
        #expect(machine.nextAction() == .connectFailed(attempt: 0, timedOut: false))
        #expect(machine.nextAction() == .close(.server))
        #expect(machine.nextAction() == .connect(attempt: 1))
        machine.connectResult(.connected, now: Self.at(0.02))
        #expect(machine.nextAction() == .established(attempt: 1))
    }

    @Test func aConnectThatFailsAtOnceWithoutASocketMovesOnWithoutAClose() {
        var machine = Machine(timeouts: Self.timeouts, targetCount: 2, now: Self.start)
        _ = machine.nextAction()
        machine.admitted()
        _ = machine.nextAction()
        machine.connectResult(.failed(socketOpened: false), now: Self.start)
        #expect(machine.nextAction() == .connectFailed(attempt: 0, timedOut: false))
        #expect(machine.nextAction() == .connect(attempt: 1))
    }

    @Test func aConnectThatTimesOutMovesOnToTheNextCandidate() {
        var machine = Machine(timeouts: Self.timeouts, targetCount: 2, now: Self.start)
        _ = machine.nextAction()
        machine.admitted()
        _ = machine.nextAction()
        machine.connectResult(.inProgress, now: Self.start)
        machine.timerFired(now: Self.at(4.9))
        #expect(machine.nextAction() == nil, "early: nothing")
        machine.timerFired(now: Self.at(5))
        #expect(machine.nextAction() == .connectFailed(attempt: 0, timedOut: true))
        #expect(machine.nextAction() == .close(.server))
        #expect(machine.nextAction() == .connect(attempt: 1))
        machine.connectResult(.inProgress, now: Self.at(5))
        #expect(machine.deadline == Self.at(10), "each attempt gets the whole connect timeout")
    }

    @Test func withEveryCandidateFailedTheClientIsClosedAndNoTargetReported() {
        var machine = Machine(timeouts: Self.timeouts, targetCount: 1, now: Self.start)
        _ = machine.nextAction()
        machine.admitted()
        _ = machine.nextAction()
        machine.connectResult(.failed(socketOpened: true), now: Self.start)
        #expect(machine.nextAction() == .connectFailed(attempt: 0, timedOut: false))
        #expect(machine.nextAction() == .close(.server))
        #expect(machine.nextAction() == .noTarget)
        #expect(machine.nextAction() == .close(.client))
        #expect(machine.nextAction() == .finish)
    }

    // MARK: - Bytes

    @Test func bytesReadAreWrittenToTheOtherSideThenShownToTheTap() {
        var machine = Self.relaying()
        machine.ready(.client, [.readable], now: Self.at(1))
        #expect(machine.nextAction() == .read(.client))
        #expect(machine.nextAction() == nil, "a read's result comes first")
        machine.readResult(.client, .bytes(328, short: true), now: Self.at(1))
        #expect(machine.nextAction() == .write(.server, count: 328, more: false))
        machine.writeResult(.server, .written(328), now: Self.at(1))
        #expect(machine.nextAction() == .observe(.clientToServer, count: 328))
        #expect(machine.nextAction() == nil, "a short read drained the socket: wait for the next edge")
        #expect(machine.clientSpoke)
        #expect(machine.lastActivity == Self.at(1))
    }

    @Test func anUntappedConnectionHasNoObserveActions() {
        var machine = Self.relaying(tapped: false)
        machine.ready(.client, [.readable], now: Self.at(1))
        #expect(machine.nextAction() == .read(.client))
        machine.readResult(.client, .bytes(10, short: true), now: Self.at(1))
        #expect(machine.nextAction() == .write(.server, count: 10, more: false))
        machine.writeResult(.server, .written(10), now: Self.at(1))
        #expect(machine.nextAction() == nil)
    }

    @Test func aFullReadIsFollowedByAnotherReadOfTheSameSocket() {
        var machine = Self.relaying(tapped: false)
        machine.ready(.client, [.readable], now: Self.at(1))
        #expect(machine.nextAction() == .read(.client))
        machine.readResult(.client, .bytes(65536, short: false), now: Self.at(1))
        #expect(machine.nextAction() == .write(.server, count: 65536, more: false))
        machine.writeResult(.server, .written(65536), now: Self.at(1))
        #expect(machine.nextAction() == .read(.client), "the socket may hold more")
        machine.readResult(.client, .wouldBlock, now: Self.at(1))
        #expect(machine.nextAction() == nil)
    }

    @Test func aShortWriteKeepsTheRestPendingAndThatSideIsNotReadUntilItIsFlushed() {
        var machine = Self.relaying()
        machine.ready(.client, [.readable], now: Self.at(1))
        _ = machine.nextAction()
        machine.readResult(.client, .bytes(65536, short: false), now: Self.at(1))
        #expect(machine.nextAction() == .write(.server, count: 65536, more: false))
        machine.writeResult(.server, .written(1000), now: Self.at(1))
        #expect(machine.pendingToServer == 64536)
        #expect(machine.nextAction() == .observe(.clientToServer, count: 65536), "the tap sees the whole read")
        #expect(machine.nextAction() == nil, "the client is not read while its bytes wait for the server")
        #expect(machine.client.readable, "its readiness is remembered (edge-triggered)")
        machine.ready(.server, [.writable], now: Self.at(2))
        #expect(machine.nextAction() == .flush(.server, count: 64536, more: false))
        machine.writeResult(.server, .written(64536), now: Self.at(2))
        #expect(machine.nextAction() == .read(.client), "flushed: the client is read again")
    }

    @Test func bytesForASocketThatCannotTakeThemAreStashed() {
        var machine = Self.relaying(tapped: false)
        machine.ready(.server, [.readable], now: Self.at(1))
        #expect(machine.nextAction() == .read(.server))
        machine.readResult(.server, .bytes(100, short: true), now: Self.at(1))
        #expect(
            machine.nextAction() == .stash(.serverToClient, count: 100),
            "the client socket never reported writable"
        )
        #expect(machine.pendingToClient == 100)
        #expect(machine.nextAction() == nil)
        machine.ready(.client, [.writable], now: Self.at(1))
        #expect(machine.nextAction() == .flush(.client, count: 100, more: false))
    }

    @Test func readsAlternateBetweenTheSidesAndYieldAfterATurn() {
        var machine = Self.relaying(tapped: false)
        machine.ready(.client, [.readable, .writable], now: Self.at(1))
        machine.ready(.server, [.readable], now: Self.at(1))
        var reads: [RelaySide] = []
        while let action = machine.nextAction() {
            switch action {
            case .read(let side):
                reads.append(side)
                machine.readResult(side, .bytes(10, short: false), now: Self.at(1))
            case .write(let side, let count, _):
                machine.writeResult(side, .written(count), now: Self.at(1))
            case .yield:
                break
            default:
                Issue.record("unexpected \(action)")
            }
            if action == .yield { break }
        }
        #expect(reads.count == Machine.readsPerTurn)
        #expect(reads.prefix(4) == [.client, .server, .client, .server])
        #expect(machine.nextAction() == nil, "yielded: no more until resumed")
        machine.resume()
        #expect(machine.nextAction() != nil)
    }

    // MARK: - End of stream

    @Test func aShortReadAfterThePeersFINIsTheEndOfStreamWithoutAnotherRead() {
        var machine = Self.relaying(more: true)
        machine.ready(.client, [.writable], now: Self.at(0))
        machine.ready(.server, [.readable, .peerClosed], now: Self.at(1))
        #expect(machine.nextAction() == .read(.server))
        machine.readResult(.server, .bytes(100, short: true), now: Self.at(1))
        #expect(machine.server.input == .ended)
        #expect(
            machine.nextAction() == .write(.client, count: 100, more: true),
            "the FIN follows: it may share the segment"
        )
        machine.writeResult(.client, .written(100), now: Self.at(1))
        #expect(machine.nextAction() == .observe(.serverToClient, count: 100))
        #expect(machine.nextAction() == .observeEnd(.serverToClient))
        #expect(machine.nextAction() == .shutdownOutput(.client))
        machine.shutdownResult(.client, succeeded: true, now: Self.at(1))
        #expect(machine.nextAction() == nil)
        #expect(machine.client.output == .shut)
    }

    @Test func endOfStreamIsPassedOnOnlyAfterThePendingBytes() {
        var machine = Self.relaying(tapped: false)
        machine.ready(.server, [.writable], now: Self.at(0))
        machine.ready(.client, [.readable, .peerClosed], now: Self.at(1))
        _ = machine.nextAction()
        machine.readResult(.client, .bytes(500, short: true), now: Self.at(1))
        #expect(machine.nextAction() == .write(.server, count: 500, more: false))
        machine.writeResult(.server, .written(200), now: Self.at(1))
        #expect(machine.nextAction() == nil, "300 bytes still wait: no FIN yet")
        machine.ready(.server, [.writable], now: Self.at(2))
        #expect(machine.nextAction() == .flush(.server, count: 300, more: false))
        machine.writeResult(.server, .written(300), now: Self.at(2))
        #expect(machine.nextAction() == .shutdownOutput(.server))
    }

    @Test func aSocketWhoseInputEndedIsClosedInsteadOfShutDown() {
        var machine = Self.relaying(tapped: false)
        machine.ready(.client, [.readable, .writable], now: Self.at(0))
        machine.ready(.server, [.readable, .writable], now: Self.at(0))
        // The server's reply and FIN first.
        #expect(machine.nextAction() == .read(.client))
        machine.readResult(.client, .wouldBlock, now: Self.at(0))
        #expect(machine.nextAction() == .read(.server))
        machine.readResult(.server, .endOfStream, now: Self.at(0))
        #expect(machine.nextAction() == .shutdownOutput(.client))
        machine.shutdownResult(.client, succeeded: true, now: Self.at(0))
        // Then the client's FIN: the server socket has nothing more to give, a close sends the FIN.
        machine.ready(.client, [.readable, .peerClosed], now: Self.at(1))
        #expect(machine.nextAction() == .read(.client))
        machine.readResult(.client, .endOfStream, now: Self.at(1))
        #expect(machine.nextAction() == .close(.server))
        #expect(machine.nextAction() == .close(.client))
        #expect(machine.nextAction() == .finish)
    }

    /// The agent pattern, the whole action sequence: what each churned connection costs.
    @Test func anAgentExchangeTakesOneReadAndOneWritePerMessageAndClosesBothSockets() {
        var machine = Machine(timeouts: Self.timeouts, targetCount: 1, moreBeforeEndOfStream: true, now: Self.start)
        var actions: [Action] = []
        func run() {
            while let action = machine.nextAction() {
                actions.append(action)
                switch action {
                case .admit: machine.admitted()
                case .connect: machine.connectResult(.inProgress, now: Self.start)
                case .read(.client) where !machine.clientSpoke:
                    machine.readResult(.client, .bytes(328, short: true), now: Self.start)
                case .read(.client): machine.readResult(.client, .endOfStream, now: Self.start)
                case .read(.server): machine.readResult(.server, .bytes(100, short: true), now: Self.start)
                case .write(let side, let count, _): machine.writeResult(side, .written(count), now: Self.start)
                case .shutdownOutput(let side): machine.shutdownResult(side, succeeded: true, now: Self.start)
                default: break
                }
            }
        }
        run()
        machine.ready(.client, [.readable, .writable], now: Self.start)
        machine.ready(.server, [.writable], now: Self.start)
        run()
        machine.ready(.server, [.readable, .peerClosed], now: Self.start)
        run()
        machine.ready(.client, [.readable, .peerClosed], now: Self.start)
        run()
        #expect(
            actions == [
                .admit, .connect(attempt: 0), .established(attempt: 0),
                .read(.client), .write(.server, count: 328, more: false),
                .read(.server), .write(.client, count: 100, more: true), .shutdownOutput(.client),
                .read(.client), .close(.server), .close(.client), .finish,
            ]
        )
    }

    // MARK: - Errors

    @Test func aResetIsCountedOnceAndThePartnerGetsWhatWasQueuedThenItsEndOfStream() {
        var machine = Self.relaying(tapped: false)
        machine.ready(.server, [.readable, .error, .hangup], now: Self.at(1))
        machine.ready(.client, [.readable], now: Self.at(1))
        #expect(machine.nextAction() == .read(.client))
        machine.readResult(.client, .wouldBlock, now: Self.at(1))
        #expect(machine.nextAction() == .read(.server), "bytes queued before the reset are read first")
        machine.readResult(.server, .bytes(40, short: true), now: Self.at(1))
        #expect(machine.nextAction() == .stash(.serverToClient, count: 40), "the client never reported writable")
        // The server is not read while its bytes wait: its error is collected instead.
        #expect(machine.nextAction() == .collectError(.server))
        machine.errorCollected(.server, hadError: true, now: Self.at(1))
        #expect(machine.nextAction() == .countError(.server))
        #expect(machine.nextAction() == nil)
        #expect(machine.partnerGoneAt == Self.at(1), "the drain deadline runs from the reset")
        #expect(machine.deadline == Self.at(30), "(the client never spoke: its first-byte deadline comes first)")
        machine.ready(.client, [.writable], now: Self.at(2))
        #expect(machine.nextAction() == .flush(.client, count: 40, more: false))
        machine.writeResult(.client, .written(40), now: Self.at(2))
        #expect(machine.nextAction() == .read(.server))
        machine.readResult(.server, .endOfStream, now: Self.at(2))
        #expect(machine.nextAction() == .shutdownOutput(.client), "the reset ends the server's stream like a FIN")
        machine.shutdownResult(.client, succeeded: true, now: Self.at(2))
        #expect(machine.nextAction() == .close(.server))
        #expect(machine.nextAction() == nil, "the client is read to its end of stream before its close")
        machine.ready(.client, [.readable, .peerClosed], now: Self.at(3))
        #expect(machine.nextAction() == .read(.client))
        machine.readResult(.client, .bytes(7, short: true), now: Self.at(3))
        #expect(machine.nextAction() == .close(.client), "what the client sent last had nowhere to go")
        #expect(machine.nextAction() == .finish)
    }

    @Test func aReadErrorIsCountedOnceAndEndsTheSocket() {
        var machine = Self.relaying(tapped: false)
        machine.ready(.client, [.writable], now: Self.at(1))
        machine.ready(.server, [.readable, .error, .hangup], now: Self.at(1))
        #expect(machine.nextAction() == .read(.server))
        machine.readResult(.server, .failed, now: Self.at(1))
        #expect(machine.nextAction() == .countError(.server))
        #expect(machine.nextAction() == .shutdownOutput(.client))
        machine.shutdownResult(.client, succeeded: true, now: Self.at(1))
        #expect(machine.nextAction() == .close(.server))
        #expect(machine.nextAction() == nil)
    }

    @Test func anErrorAfterTheEndOfStreamIsCollectedAndCounted() {
        var machine = Self.relaying(tapped: false)
        machine.ready(.client, [.writable], now: Self.at(0))
        machine.ready(.server, [.readable, .peerClosed], now: Self.at(1))
        _ = machine.nextAction()
        machine.readResult(.server, .endOfStream, now: Self.at(1))
        #expect(machine.nextAction() == .shutdownOutput(.client))
        machine.shutdownResult(.client, succeeded: true, now: Self.at(1))
        machine.ready(.server, [.error, .hangup], now: Self.at(2))
        #expect(machine.nextAction() == .collectError(.server))
        machine.errorCollected(.server, hadError: true, now: Self.at(2))
        #expect(machine.nextAction() == .countError(.server))
        #expect(machine.nextAction() == .close(.server))
    }

    @Test func aWriteErrorDropsWhatWasPendingForThatSocketAndCountsOnce() {
        var machine = Self.relaying(tapped: false)
        machine.ready(.server, [.writable], now: Self.at(0))
        machine.ready(.client, [.readable], now: Self.at(1))
        _ = machine.nextAction()
        machine.readResult(.client, .bytes(1000, short: false), now: Self.at(1))
        _ = machine.nextAction()
        machine.writeResult(.server, .written(10), now: Self.at(1))
        machine.ready(.server, [.writable], now: Self.at(2))
        #expect(machine.nextAction() == .flush(.server, count: 990, more: false))
        machine.writeResult(.server, .failed, now: Self.at(2))
        #expect(machine.nextAction() == .countError(.server))
        #expect(machine.nextAction() == .drop(.clientToServer, count: 990))
        #expect(machine.nextAction() == .read(.client), "the client is read to its end, its bytes discarded")
        machine.readResult(.client, .failed, now: Self.at(2))
        #expect(machine.nextAction() == .countError(.client))
    }

    // MARK: - Deadlines

    @Test func aClientThatNeverSpeaksIsClosedAfterTheFirstByteTimeout() {
        var machine = Self.relaying()
        #expect(machine.deadline == Self.at(30))
        machine.timerFired(now: Self.at(30))
        #expect(machine.nextAction() == .timedOut(.firstByte))
        #expect(machine.nextAction() == .observeEnd(.clientToServer))
        #expect(machine.nextAction() == .close(.client))
        #expect(machine.nextAction() == .observeEnd(.serverToClient))
        #expect(machine.nextAction() == .close(.server))
        #expect(machine.nextAction() == .finish)
    }

    @Test func aConnectionWithoutTrafficIsClosedAfterTheIdleTimeoutAndActivityMovesItLater() {
        var machine = Self.relaying(tapped: false)
        machine.ready(.client, [.readable], now: Self.at(1))
        _ = machine.nextAction()
        machine.readResult(.client, .bytes(5, short: true), now: Self.at(1))
        machine.ready(.server, [.writable], now: Self.at(1))
        _ = machine.nextAction()
        machine.writeResult(.server, .written(5), now: Self.at(1))
        #expect(machine.deadline == Self.at(901))
        machine.timerFired(now: Self.at(900))
        #expect(machine.nextAction() == nil, "not yet")
        machine.ready(.server, [.readable], now: Self.at(899))
        _ = machine.nextAction()
        machine.readResult(.server, .bytes(5, short: true), now: Self.at(899))
        #expect(machine.deadline == Self.at(1799))
        machine.timerFired(now: Self.at(1800))
        #expect(machine.nextAction() == .timedOut(.idle))
    }

    @Test func aClientThatStaysAfterTheServerFinishedIsClosedAfterTheClientFinTimeout() {
        var machine = Self.relaying(tapped: false)
        machine.ready(.client, [.readable, .writable], now: Self.at(1))
        #expect(machine.nextAction() == .read(.client))
        machine.readResult(.client, .bytes(10, short: true), now: Self.at(1))
        #expect(machine.nextAction() == .write(.server, count: 10, more: false))
        machine.writeResult(.server, .written(10), now: Self.at(1))
        machine.ready(.server, [.readable, .peerClosed], now: Self.at(2))
        #expect(machine.nextAction() == .read(.server))
        machine.readResult(.server, .bytes(20, short: true), now: Self.at(2))
        #expect(machine.nextAction() == .write(.client, count: 20, more: false))
        machine.writeResult(.client, .written(20), now: Self.at(2))
        #expect(machine.nextAction() == .shutdownOutput(.client))
        machine.shutdownResult(.client, succeeded: true, now: Self.at(2))
        #expect(machine.nextAction() == nil)
        #expect(machine.deadline == Self.at(12), "server done: the client has the client FIN timeout to close")
        machine.timerFired(now: Self.at(12))
        #expect(machine.nextAction() == .timedOut(.clientFin))
        #expect(machine.nextAction() == .close(.client))
        #expect(machine.nextAction() == .close(.server))
        #expect(machine.nextAction() == .finish)
    }

    @Test func aServerSilentAfterTheClientFinishedIsClosedAfterTheServerReplyTimeout() {
        var machine = Self.relaying(tapped: false)
        machine.ready(.client, [.readable, .peerClosed], now: Self.at(1))
        machine.ready(.server, [.writable], now: Self.at(1))
        _ = machine.nextAction()
        machine.readResult(.client, .bytes(10, short: true), now: Self.at(1))
        #expect(machine.nextAction() == .write(.server, count: 10, more: false))
        machine.writeResult(.server, .written(10), now: Self.at(1))
        #expect(machine.nextAction() == .shutdownOutput(.server))
        machine.shutdownResult(.server, succeeded: true, now: Self.at(1))
        #expect(machine.deadline == Self.at(621))
        machine.timerFired(now: Self.at(621))
        #expect(machine.nextAction() == .timedOut(.serverReply))
    }

    @Test func aSurvivorThatDoesNotTakeItsBytesIsClosedAfterTheDrainTimeout() {
        var machine = Self.relaying(tapped: false)
        machine.ready(.client, [.readable], now: Self.at(0.5))
        #expect(machine.nextAction() == .read(.client))
        machine.readResult(.client, .bytes(5, short: true), now: Self.at(0.5))
        #expect(machine.nextAction() == .write(.server, count: 5, more: false))
        machine.writeResult(.server, .written(5), now: Self.at(0.5))
        machine.ready(.server, [.readable], now: Self.at(1))
        #expect(machine.nextAction() == .read(.server))
        machine.readResult(.server, .bytes(50, short: true), now: Self.at(1))
        #expect(machine.nextAction() == .stash(.serverToClient, count: 50))
        // The server resets; what it sent still waits for a client that takes nothing.
        machine.ready(.server, [.error, .hangup], now: Self.at(1))
        #expect(machine.nextAction() == .collectError(.server))
        machine.errorCollected(.server, hadError: true, now: Self.at(1))
        #expect(machine.nextAction() == .countError(.server))
        #expect(machine.nextAction() == nil)
        machine.ready(.client, [.readable], now: Self.at(1))
        #expect(machine.nextAction() == .read(.client))
        machine.readResult(.client, .bytes(5, short: true), now: Self.at(1))
        #expect(machine.nextAction() == nil, "the client's bytes have nowhere to go: discarded")
        #expect(machine.lastActivity == Self.at(1), "(from the server's bytes, not the discarded ones)")
        #expect(machine.deadline == Self.at(31), "the drain deadline counts from the failure")
        machine.timerFired(now: Self.at(31))
        #expect(machine.nextAction() == .timedOut(.drain))
        #expect(machine.nextAction() == .drop(.serverToClient, count: 50))
        #expect(machine.nextAction() == .close(.client))
        #expect(machine.nextAction() == .close(.server))
        #expect(machine.nextAction() == .finish)
    }

    // MARK: - From outside

    @Test func aCloseRequestedDropsWhatIsPendingAndClosesBothSockets() {
        var machine = Self.relaying(tapped: false)
        machine.ready(.server, [.readable], now: Self.at(1))
        _ = machine.nextAction()
        machine.readResult(.server, .bytes(3, short: true), now: Self.at(1))
        #expect(machine.nextAction() == .stash(.serverToClient, count: 3))
        machine.closeRequested()
        #expect(machine.nextAction() == .drop(.serverToClient, count: 3))
        #expect(machine.nextAction() == .close(.client))
        #expect(machine.nextAction() == .close(.server))
        #expect(machine.nextAction() == .finish)
        machine.closeRequested()
        #expect(machine.nextAction() == nil, "a second request changes nothing")
    }

    @Test func aCloseRequestedWhileConnectingClosesTheConnectingSocketToo() {
        var machine = Machine(timeouts: Self.timeouts, targetCount: 1, now: Self.start)
        _ = machine.nextAction()
        machine.admitted()
        _ = machine.nextAction()
        machine.connectResult(.inProgress, now: Self.start)
        machine.closeRequested()
        #expect(machine.nextAction() == .close(.client))
        #expect(machine.nextAction() == .close(.server))
        #expect(machine.nextAction() == .finish)
    }

    @Test func aDetachedTapSeesNothingMore() {
        var machine = Self.relaying()
        machine.tapDetached()
        machine.ready(.client, [.readable], now: Self.at(1))
        machine.ready(.server, [.writable], now: Self.at(1))
        _ = machine.nextAction()
        machine.readResult(.client, .endOfStream, now: Self.at(1))
        #expect(machine.nextAction() == .shutdownOutput(.server), "no observeEnd")
    }
}
