import LogThrottling
import NIOCore
import Testing

@testable import Riemann

@Suite struct BackoffTests {
    @Test func ceilingDoublesFromTheMinimumUpToTheMaximum() {
        var backoff = Backoff(minimum: .milliseconds(100), maximum: .seconds(1))
        var ceilings: [Int64] = []
        for _ in 0..<7 {
            _ = backoff.nextDelay()
            ceilings.append(backoff.ceiling.nanoseconds / 1_000_000)
        }
        #expect(ceilings == [100, 200, 400, 800, 1000, 1000, 1000])
        backoff.reset()
        _ = backoff.nextDelay()
        #expect(backoff.ceiling == .milliseconds(100))
    }

    @Test func delaysAreFullyJitteredWithinTheCeiling() {
        var backoff = Backoff(minimum: .milliseconds(100), maximum: .seconds(10))
        var delays: [TimeAmount] = []
        for _ in 0..<200 {
            backoff.reset()
            for _ in 0..<3 { _ = backoff.nextDelay() }
            delays.append(backoff.nextDelay())  // 4th failure: ceiling 800 ms
        }
        #expect(delays.allSatisfy { $0 >= .zero && $0 <= .milliseconds(800) })
        #expect(Set(delays).count > 100)  // actually random
        #expect(delays.contains { $0 < .milliseconds(400) } && delays.contains { $0 > .milliseconds(400) })
    }

    @Test func hugeFailureCountsDoNotOverflow() {
        var backoff = Backoff(minimum: .seconds(1), maximum: .seconds(30))
        for _ in 0..<200 { _ = backoff.nextDelay() }
        #expect(backoff.ceiling == .seconds(30))
    }
}

/// The Riemann client's connect-failure and rejection warnings go through the shared throttle.
@Suite struct RiemannLogThrottleTests {
    @Test func letsOneThroughPerIntervalAndCountsTheRest() {
        let limit = LogThrottle<RiemannConnectionController.LogKey>(interval: .seconds(10))
        let start = NIODeadline.uptimeNanoseconds(1_000_000_000)
        #expect(limit.record(.rejected, now: start) == 0)
        #expect(limit.record(.rejected, now: start + .seconds(1)) == nil)
        #expect(limit.record(.rejected, now: start + .seconds(9)) == nil)
        #expect(limit.record(.connectFailed, now: start + .seconds(9)) == 0, "each key on its own")
        #expect(limit.record(.rejected, now: start + .seconds(10)) == 2)
        #expect(limit.record(.rejected, now: start + .seconds(11)) == nil)
    }
}
