import Foundation

/// Polls `condition` every `interval` until it returns true, or throws `WaitTimeout` after `timeout`.
///
/// Use this instead of sleeping: it returns as soon as the thing waited for is observable.
/// `what` names the condition in the error message.
public func waitUntil(
    _ what: String,
    timeout: Duration = .seconds(20),
    interval: Duration = .milliseconds(50),
    _ condition: () async throws -> Bool
) async throws {
    let clock = ContinuousClock()
    let deadline = clock.now.advanced(by: timeout)
    while true {
        if try await condition() { return }
        if clock.now >= deadline { throw WaitTimeout(what: what, timeout: timeout) }
        try await Task.sleep(for: interval)
    }
}

/// Blocking twin of `waitUntil`, for clean-up paths that cannot be async (an `atexit` handler).
/// Returns false on timeout instead of throwing.
@discardableResult
public func waitUntilBlocking(
    timeout: Duration,
    interval: Duration = .milliseconds(50),
    _ condition: () -> Bool
) -> Bool {
    let clock = ContinuousClock()
    let deadline = clock.now.advanced(by: timeout)
    while true {
        if condition() { return true }
        if clock.now >= deadline { return false }
        Thread.sleep(
            forTimeInterval: Double(interval.components.attoseconds) / 1e18
                + Double(interval.components.seconds)
        )
    }
}

/// A condition polled by `waitUntil` did not become true in time.
public struct WaitTimeout: Error, CustomStringConvertible {
    public let what: String
    public let timeout: Duration
    public var description: String { "timed out after \(timeout) waiting for \(what)" }
}
