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

@Suite struct RateLimitTests {
    @Test func letsOneThroughPerIntervalAndCountsTheRest() {
        var limit = RateLimit()
        let start = NIODeadline.uptimeNanoseconds(1_000_000_000)
        #expect(limit.permit(at: start, interval: .seconds(10)) == 0)
        #expect(limit.permit(at: start + .seconds(1), interval: .seconds(10)) == nil)
        #expect(limit.permit(at: start + .seconds(9), interval: .seconds(10)) == nil)
        #expect(limit.permit(at: start + .seconds(10), interval: .seconds(10)) == 2)
        #expect(limit.permit(at: start + .seconds(11), interval: .seconds(10)) == nil)
    }
}
