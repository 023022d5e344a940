/// How long a graceful stop may take, and what systemd's `TimeoutStopSec=` must allow for it.
///
/// On SIGTERM the tee waits up to `shutdown_timeout` for open connections, closes the rest (and
/// waits up to 5 s for them to go), decodes what is queued and saves the catalog, then gives
/// Riemann up to `riemann.flush_timeout`. A service manager that kills it sooner (SIGKILL at the
/// end of `TimeoutStopSec=`) loses what a SIGKILL loses (README, "Stopping and crashes"): so
/// `TimeoutStopSec=` must be at least ``TeeConfiguration/longestGracefulStop``.
///
/// The tee cannot read its unit's `TimeoutStopSec=` (systemd does not export it to the
/// service), so `check-config` and `run` compare against the value `deploy/zabbix-tee.service`
/// ships, ``shippedUnitTimeoutStop``, and warn when the configuration needs more.
extension TeeConfiguration {
    /// Allowance beyond `shutdown_timeout` + `riemann.flush_timeout`: closing the remaining
    /// connections (5 s), draining the decoder's queue, saving the catalog, stopping the admin
    /// endpoint.
    public static let gracefulStopMargin: Duration = .seconds(15)

    /// `TimeoutStopSec=` of `deploy/zabbix-tee.service`.
    public static let shippedUnitTimeoutStop: Duration = .seconds(90)

    /// The longest a graceful stop takes with this configuration: `shutdown_timeout` +
    /// `riemann.flush_timeout` (when Riemann is configured) + ``gracefulStopMargin``.
    public var longestGracefulStop: Duration {
        self.shutdownTimeout + (self.riemann == nil ? .zero : self.riemannFlushTimeout) + Self.gracefulStopMargin
    }

    /// A warning when ``longestGracefulStop`` exceeds the shipped unit's `TimeoutStopSec=`.
    /// `node`: where to point (the `shutdown_timeout` key, or the document).
    func stopTimeoutWarning(at node: ConfigNode) -> ConfigWarning? {
        let needed = self.longestGracefulStop
        guard needed > Self.shippedUnitTimeoutStop else { return nil }
        let seconds = Int(
            (Double(needed.components.seconds) + Double(needed.components.attoseconds) / 1e18).rounded(.up)
        )
        return ConfigDiagnostic(
            file: node.file,
            line: node.node.mark?.line,
            column: node.node.mark?.column,
            keyPath: "shutdown_timeout",
            message:
                "a graceful stop may take up to \(seconds)s (shutdown_timeout + riemann.flush_timeout + 15s), more than TimeoutStopSec=\(Self.shippedUnitTimeoutStop.components.seconds) of deploy/zabbix-tee.service: systemd would SIGKILL the tee before it finished (losing queued events and unsaved catalog changes); set TimeoutStopSec=\(seconds) or more in the unit",
            severity: .warning
        )
    }
}
