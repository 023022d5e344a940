import NIOCore
import TestSupport

@testable import Riemann

extension RiemannClientConfiguration {
    /// Settings for tests: small batches sent soon, fast reconnects (10 to 100 ms), 1 s connects.
    static func forTests(
        _ servers: [RiemannServerAddress],
        batch: Int = 50,
        delay: Duration = .milliseconds(10)
    ) -> RiemannClientConfiguration {
        var configuration = RiemannClientConfiguration(servers: servers)
        configuration.maximumBatchEvents = batch
        configuration.maximumBatchDelay = delay
        configuration.reconnectBackoffMinimum = .milliseconds(10)
        configuration.reconnectBackoffMaximum = .milliseconds(100)
        configuration.connectTimeout = .seconds(1)
        return configuration
    }

    /// The first `count` reconnect delays a client with these settings draws when its jitter
    /// comes from `SeededGenerator(seed: seed)`: the same generator, the same ceilings.
    func backoffDelays(_ count: Int, seed: UInt64 = 1) -> [TimeAmount] {
        var generator = SeededGenerator(seed: seed)
        var backoff = Backoff(self)
        return (0..<count).map { _ in backoff.nextDelay(using: &generator) }
    }
}
