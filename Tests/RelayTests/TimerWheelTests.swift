import NIOCore
import Testing

@testable import Relay

/// The relay loop's timer wheel, on virtual time.
@Suite struct TimerWheelTests {
    static let start = NIODeadline.uptimeNanoseconds(5_000_000_000)

    static func at(_ milliseconds: Int64) -> NIODeadline { Self.start + .milliseconds(milliseconds) }

    static func expired(_ wheel: inout TimerWheel, at now: NIODeadline) -> [Int] {
        var fired: [Int] = []
        wheel.expire(now: now, into: &fired)
        return fired.sorted()
    }

    @Test func anEntryFiresOnceItsDeadlinePassedAndNotBefore() {
        var wheel = TimerWheel(now: Self.start)
        wheel.reserve(4)
        wheel.schedule(1, at: Self.at(300))
        #expect(Self.expired(&wheel, at: Self.at(299)).isEmpty)
        #expect(Self.expired(&wheel, at: Self.at(310)) == [1])
        #expect(wheel.count == 0)
        #expect(Self.expired(&wheel, at: Self.at(400)).isEmpty, "once")
    }

    @Test func theNextExpiryIsNoLaterThanTheEarliestDeadline() {
        var wheel = TimerWheel(now: Self.start)
        wheel.reserve(4)
        #expect(wheel.nextExpiry() == nil)
        wheel.schedule(2, at: Self.at(900_000))
        wheel.schedule(3, at: Self.at(300))
        let next = try! #require(wheel.nextExpiry())
        #expect(next <= Self.at(300) + .milliseconds(10))
        #expect(next >= Self.at(290))
    }

    @Test func aDeadlineManyRoundsAwayFiresOnlyInItsRound() {
        var wheel = TimerWheel(now: Self.start)
        wheel.reserve(2)
        wheel.schedule(0, at: Self.at(900_000))
        var now = Self.start
        while now < Self.at(899_000) {
            now = now + .milliseconds(997)
            #expect(Self.expired(&wheel, at: now).isEmpty)
        }
        #expect(Self.expired(&wheel, at: Self.at(900_010)) == [0])
    }

    @Test func cancelledAndMovedEntriesFireAtTheirNewDeadlineOnly() {
        var wheel = TimerWheel(now: Self.start)
        wheel.reserve(3)
        wheel.schedule(0, at: Self.at(100))
        wheel.schedule(1, at: Self.at(100))
        wheel.schedule(2, at: Self.at(100))
        wheel.cancel(1)
        wheel.schedule(2, at: Self.at(500))
        #expect(Self.expired(&wheel, at: Self.at(200)) == [0])
        #expect(Self.expired(&wheel, at: Self.at(600)) == [2])
        #expect(wheel.deadline(1) == nil)
    }

    /// Waking at the next expiry always finds the entry due: the slot is the tick boundary after
    /// the deadline, not the tick it falls in (which would be passed over for a whole round).
    @Test func wakingAtTheNextExpiryFiresTheEntry() {
        var wheel = TimerWheel(now: Self.start + .milliseconds(3))
        wheel.reserve(1)
        wheel.schedule(0, at: Self.at(298))
        let wake = try! #require(wheel.nextExpiry())
        #expect(wake >= Self.at(298))
        #expect(Self.expired(&wheel, at: wake) == [0])
    }

    @Test func aDeadlineAlreadyPassedFiresAtTheNextExpiry() {
        var wheel = TimerWheel(now: Self.start)
        wheel.reserve(1)
        _ = Self.expired(&wheel, at: Self.at(1000))
        wheel.schedule(0, at: Self.at(10))
        #expect(Self.expired(&wheel, at: Self.at(1011)) == [0])
    }
}
