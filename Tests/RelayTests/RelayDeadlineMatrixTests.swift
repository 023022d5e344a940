import NIOCore
import Relay
import Testing

/// The timeout matrix of the half-open states, on the state machine with virtual time and the
/// shipped default deadlines: each state in which one peer could hold both descriptors ends after
/// its own deadline — not a moment before, and not after the 15-minute idle timeout — and a peer
/// that makes progress in it is never cut. (The same states on real sockets:
/// `RelayTimeoutMatrixTests`.)
@Suite struct RelayDeadlineMatrixTests {
    typealias Machine = RelayStateMachine

    /// The defaults a listener gets when its configuration says nothing.
    static let defaults = RelayTimeouts()
    static let start = NIODeadline.uptimeNanoseconds(1_000_000_000)

    static func at(_ seconds: Double) -> NIODeadline {
        Self.start + .nanoseconds(Int64(seconds * 1e9))
    }

    /// A half-open state a connection can be left in, and the deadline that must end it.
    enum HalfOpen: CaseIterable, CustomTestStringConvertible {
        /// The server replied and closed; the client got everything and its end of stream, and
        /// neither sends nor closes.
        case serverClosedClientSilent
        /// The client sent its request and shut its output; the server is silent (a Zabbix server
        /// or proxy working on a long reply).
        case clientFinishedAwaitingReply
        /// The client connected and never sent a byte.
        case clientNeverSpoke

        var testDescription: String {
            switch self {
            case .serverClosedClientSilent: "server closed, client silent"
            case .clientFinishedAwaitingReply: "client finished, awaiting the reply"
            case .clientNeverSpoke: "client never spoke"
            }
        }

        var reason: RelayTimeout {
            switch self {
            case .serverClosedClientSilent: .clientFin
            case .clientFinishedAwaitingReply: .serverReply
            case .clientNeverSpoke: .firstByte
            }
        }

        /// Where the state machine is put into this state, and when its last activity was.
        func enter() -> (machine: Machine, since: NIODeadline) {
            var machine = RelayDeadlineMatrixTests.relaying()
            switch self {
            case .serverClosedClientSilent:
                RelayDeadlineMatrixTests.relay(&machine, from: .client, 10, at: 1)
                RelayDeadlineMatrixTests.relayLastBytes(&machine, from: .server, 20, at: 2)
                return (machine, at(2))
            case .clientFinishedAwaitingReply:
                RelayDeadlineMatrixTests.relayLastBytes(&machine, from: .client, 10, at: 1)
                return (machine, at(1))
            case .clientNeverSpoke:
                return (machine, RelayDeadlineMatrixTests.start)
            }
        }

        func deadline(_ timeouts: RelayTimeouts) -> TimeAmount {
            switch self {
            case .serverClosedClientSilent: timeouts.clientFin
            case .clientFinishedAwaitingReply: timeouts.serverReply
            case .clientNeverSpoke: timeouts.firstByte
            }
        }
    }

    /// A machine admitted and connected at ``start`` (untapped), nothing read yet.
    static func relaying() -> Machine {
        var machine = Machine(timeouts: Self.defaults, targetCount: 1, now: Self.start)
        #expect(machine.nextAction() == .admit)
        machine.admitted()
        #expect(machine.nextAction() == .connect(attempt: 0))
        machine.connectResult(.connected, now: Self.start)
        #expect(machine.nextAction() == .established(attempt: 0))
        #expect(machine.nextAction() == nil)
        return machine
    }

    /// `count` bytes read from `side` at `seconds` and written whole to the other side.
    static func relay(_ machine: inout Machine, from side: RelaySide, _ count: Int, at seconds: Double) {
        machine.ready(side, [.readable, .writable], now: Self.at(seconds))
        machine.ready(side.other, [.writable], now: Self.at(seconds))
        #expect(machine.nextAction() == .read(side))
        machine.readResult(side, .bytes(count, short: true), now: Self.at(seconds))
        #expect(machine.nextAction() == .write(side.other, count: count, more: false))
        machine.writeResult(side.other, .written(count), now: Self.at(seconds))
        #expect(machine.nextAction() == nil)
    }

    /// `side`'s last `count` bytes and its FIN read at `seconds`, written whole to the other side,
    /// whose output is then shut: `side` is done, the other side may still send.
    static func relayLastBytes(_ machine: inout Machine, from side: RelaySide, _ count: Int, at seconds: Double) {
        machine.ready(side, [.readable, .peerClosed], now: Self.at(seconds))
        #expect(machine.nextAction() == .read(side))
        machine.readResult(side, .bytes(count, short: true), now: Self.at(seconds))
        #expect(machine.nextAction() == .write(side.other, count: count, more: false))
        machine.writeResult(side.other, .written(count), now: Self.at(seconds))
        #expect(machine.nextAction() == .shutdownOutput(side.other))
        machine.shutdownResult(side.other, succeeded: true, now: Self.at(seconds))
        #expect(machine.nextAction() == nil)
    }

    @Test func theDefaultsReleaseAHalfOpenClientWithinTenSecondsAndWaitForZabbixsLongestReply() {
        #expect(Self.defaults.clientFin <= .seconds(10), "HAProxy's client-fin order of magnitude")
        #expect(Self.defaults.serverReply >= .seconds(600), "a proxy's Timeout may be 600 s, a trapper's 300 s")
        #expect(Self.defaults.firstByte < Self.defaults.idle, "a silent client is let go long before the idle timeout")
        #expect(Self.defaults.serverReply < Self.defaults.idle)
    }

    @Test(arguments: HalfOpen.allCases)
    func eachHalfOpenStateEndsAfterItsOwnDeadlineNotBeforeAndNotAfterTheIdleTimeout(_ state: HalfOpen) {
        var (machine, since) = state.enter()
        let due = since + state.deadline(Self.defaults)
        #expect(machine.deadline == due)
        #expect(due < since + Self.defaults.idle)
        machine.timerFired(now: due - .nanoseconds(1))
        #expect(machine.nextAction() == nil, "not a moment before")
        #expect(machine.deadline == due, "and the deadline stands")
        machine.timerFired(now: due)
        #expect(machine.nextAction() == .timedOut(state.reason))
        var closed: [RelaySide] = []
        while let action = machine.nextAction() {
            if case .close(let side) = action { closed.append(side) }
            if action == .finish { break }
        }
        #expect(closed.sorted { $0.rawValue < $1.rawValue } == [.client, .server], "both sockets, once each")
        #expect(machine.isFinished)
    }

    @Test func aServerThatRepliesAfterNineMinutesToAClientThatFinishedIsNotCut() {
        var (machine, _) = HalfOpen.clientFinishedAwaitingReply.enter()
        machine.timerFired(now: Self.at(1 + 599))
        #expect(machine.nextAction() == nil)
        Self.relay(&machine, from: .server, 100, at: 1 + 599)
        #expect(machine.deadline == Self.at(600) + Self.defaults.serverReply, "a reply in progress moves the deadline")
        machine.ready(.server, [.readable, .peerClosed], now: Self.at(601))
        #expect(machine.nextAction() == .read(.server))
        machine.readResult(.server, .endOfStream, now: Self.at(601))
        #expect(machine.nextAction() == .close(.client), "both directions done: the client is closed")
        #expect(machine.nextAction() == .close(.server))
        #expect(machine.nextAction() == .finish)
    }

    @Test func aClientStillSendingToAServerThatOnlyShutItsOutputIsNotCut() {
        var (machine, _) = HalfOpen.serverClosedClientSilent.enter()
        Self.relay(&machine, from: .client, 5, at: 11)
        #expect(machine.deadline == Self.at(11) + Self.defaults.clientFin)
        machine.timerFired(now: Self.at(12))
        #expect(machine.nextAction() == nil, "the server still reads what the client sends")
    }

    @Test func aClientThatSpeaksJustBeforeTheFirstByteDeadlineIsThenHeldOnlyByTheIdleTimeout() {
        var machine = Self.relaying()
        Self.relay(&machine, from: .client, 1, at: 29.9)
        #expect(machine.deadline == Self.at(29.9) + Self.defaults.idle)
        machine.timerFired(now: Self.at(30))
        #expect(machine.nextAction() == nil)
    }
}
