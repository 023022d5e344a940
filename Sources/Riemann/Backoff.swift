import NIOCore

/// Exponential backoff with "full jitter": after the n-th consecutive failure wait a uniformly
/// random time in `0 ... min(maximum, minimum × 2^(n−1))`.
///
/// Full jitter spreads reconnecting clients out and, on average, retries sooner than
/// "equal jitter" (AWS Architecture Blog, "Exponential Backoff And Jitter").
struct Backoff: Sendable {
    let minimum: TimeAmount
    let maximum: TimeAmount
    private(set) var consecutiveFailures = 0

    init(minimum: TimeAmount, maximum: TimeAmount) {
        self.minimum = max(minimum, .nanoseconds(0))
        self.maximum = max(maximum, self.minimum)
    }

    /// The reconnect backoff `configuration` asks for, in the event loop's time.
    init(_ configuration: RiemannClientConfiguration) {
        self.init(
            minimum: TimeAmount(configuration.reconnectBackoffMinimum),
            maximum: TimeAmount(configuration.reconnectBackoffMaximum)
        )
    }

    /// The current upper bound, before jitter.
    var ceiling: TimeAmount {
        guard self.consecutiveFailures > 0 else { return .nanoseconds(0) }
        let exponent = min(self.consecutiveFailures - 1, 62)
        let (scaled, overflow) = self.minimum.nanoseconds.multipliedReportingOverflow(by: Int64(1) << exponent)
        return overflow ? self.maximum : min(.nanoseconds(scaled), self.maximum)
    }

    /// Records a failure and returns how long to wait before the next attempt.
    mutating func nextDelay<Generator: RandomNumberGenerator>(using generator: inout Generator) -> TimeAmount {
        self.consecutiveFailures += 1
        let ceiling = self.ceiling.nanoseconds
        return .nanoseconds(ceiling > 0 ? Int64.random(in: 0...ceiling, using: &generator) : 0)
    }

    mutating func nextDelay() -> TimeAmount {
        var generator = SystemRandomNumberGenerator()
        return self.nextDelay(using: &generator)
    }

    /// Records a success: the next failure starts from ``minimum`` again.
    mutating func reset() {
        self.consecutiveFailures = 0
    }
}
