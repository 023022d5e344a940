import Admin
import Foundation
import Synchronization

/// Outcomes of configuration reloads, for `/metrics`.
public final class ReloadStatistics: Sendable {
    private struct State {
        var successes = 0
        var failures = 0
        var lastSuccessful = true
        /// Seconds since the epoch of the last successful reload (or of the start).
        var lastSuccessTimestamp: Double
    }
    private let state: Mutex<State>

    /// - Parameter startTime: when the configuration in force was loaded (the process start).
    public init(startTime: Date = Date()) {
        self.state = Mutex(State(lastSuccessTimestamp: startTime.timeIntervalSince1970))
    }

    /// Reloads applied.
    public var successes: Int { self.state.withLock { $0.successes } }
    /// Reloads rejected (the file did not load or validate); the running configuration stayed.
    public var failures: Int { self.state.withLock { $0.failures } }
    /// Whether the last reload (if any) was applied.
    public var lastSuccessful: Bool { self.state.withLock { $0.lastSuccessful } }

    func recordSuccess(at date: Date = Date()) {
        self.state.withLock { state in
            state.successes += 1
            state.lastSuccessful = true
            state.lastSuccessTimestamp = date.timeIntervalSince1970
        }
    }

    func recordFailure() {
        self.state.withLock { state in
            state.failures += 1
            state.lastSuccessful = false
        }
    }

    /// The `zabbix_tee_config_*` samples.
    var metricsSource: some MetricsSource {
        ClosureMetricsSource { [self] snapshot in
            let state = self.state.withLock { $0 }
            snapshot.counter(
                "zabbix_tee_config_reloads_total",
                help: "Configuration reloads (SIGHUP), by result (success, failure).",
                labels: [.init("result", "success")],
                value: state.successes
            )
            snapshot.counter(
                "zabbix_tee_config_reloads_total",
                help: "Configuration reloads (SIGHUP), by result (success, failure).",
                labels: [.init("result", "failure")],
                value: state.failures
            )
            snapshot.gauge(
                "zabbix_tee_config_last_reload_successful",
                help: "1 if the last configuration reload was applied (or none was tried), 0 if it was rejected.",
                value: state.lastSuccessful ? 1 : 0
            )
            snapshot.gauge(
                "zabbix_tee_config_last_reload_success_timestamp_seconds",
                help:
                    "When the configuration in force was loaded (start or last successful reload), seconds since the epoch.",
                value: state.lastSuccessTimestamp
            )
        }
    }
}
