import Logging
import Relay

/// The whole `config.yaml`, validated, with defaults filled in.
public struct TeeConfiguration: Sendable {
    /// Log level unless `--log-level` overrides it. Key `log_level`, default `info`.
    public var logLevel: Logger.Level
    /// How long a graceful shutdown lets open connections finish. Key `shutdown_timeout`, default 30 s.
    public var shutdownTimeout: Duration
    /// One entry per `listeners` item.
    public var listeners: [RelayListenerConfiguration]

    public init(logLevel: Logger.Level = .info, shutdownTimeout: Duration = .seconds(30), listeners: [RelayListenerConfiguration]) {
        self.logLevel = logLevel
        self.shutdownTimeout = shutdownTimeout
        self.listeners = listeners
    }
}
