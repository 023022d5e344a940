import NIOCore
import Testing

@testable import Admin

/// Admission of admin connections, without sockets: idle and slow connections give their slot
/// to new ones; only connections answering a request keep theirs.
struct AdminConnectionTableTests {
    static let start = NIODeadline.uptimeNanoseconds(1_000_000_000)

    static func at(_ seconds: Int64) -> NIODeadline { Self.start + .seconds(seconds) }

    @Test func connectionsAreAdmittedWhileThereIsRoom() {
        var table = AdminConnectionTable<Int>(capacity: 2)
        #expect(table.admit(1, now: Self.at(0)) == .accepted)
        #expect(table.admit(2, now: Self.at(1)) == .accepted)
        #expect(table.count == 2)
    }

    @Test func aFullTableGivesTheSlotOfTheConnectionThatWaitedLongest() {
        var table = AdminConnectionTable<Int>(capacity: 3)
        _ = table.admit(1, now: Self.at(0))
        _ = table.admit(2, now: Self.at(1))
        _ = table.admit(3, now: Self.at(2))
        // 1 sent a request and got its answer at 5 s: it waits since then, less long than 2.
        table.requestReceived(1)
        table.responseSent(1, now: Self.at(5))
        #expect(table.admit(4, now: Self.at(6)) == .acceptedEvicting(2))
        #expect(table.admit(5, now: Self.at(7)) == .acceptedEvicting(3))
        #expect(table.admit(6, now: Self.at(8)) == .acceptedEvicting(1))
        #expect(table.count == 3)
    }

    @Test func connectionsAnsweringARequestKeepTheirSlot() {
        var table = AdminConnectionTable<Int>(capacity: 2)
        _ = table.admit(1, now: Self.at(0))
        _ = table.admit(2, now: Self.at(1))
        table.requestReceived(1)
        #expect(table.admit(3, now: Self.at(2)) == .acceptedEvicting(2), "the busy one stays")
        table.requestReceived(3)
        #expect(table.admit(4, now: Self.at(3)) == .refused, "every slot is answering a request")
        table.responseSent(1, now: Self.at(4))
        #expect(table.admit(4, now: Self.at(5)) == .acceptedEvicting(1))
    }

    @Test func closedConnectionsFreeTheirSlotAndUnknownOnesAreIgnored() {
        var table = AdminConnectionTable<Int>(capacity: 1)
        _ = table.admit(1, now: Self.at(0))
        table.requestReceived(1)
        table.remove(1)
        table.requestReceived(1)  // a late callback of a closed connection
        table.responseSent(9, now: Self.at(1))
        #expect(table.count == 0)
        #expect(table.admit(2, now: Self.at(2)) == .accepted)
    }
}
