/// The warnings a listener's connections can log over and over (one per connection under a
/// fault), each throttled on its own with ``LogThrottle``: the exact counts are in the metrics,
/// the log says that it happens and how often since its previous line.
enum RelayWarning: Hashable, Sendable {
    case connectFailed(Endpoint)
    case noTarget
    case timedOut(RelayTimeout)
    case tapFailed
    case acceptPaused
}
