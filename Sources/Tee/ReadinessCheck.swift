import Admin
import Relay

/// What `/ready` answers, as opposed to `/health`.
///
/// `/health` is liveness: the listeners are bound and the tee is not shutting down — restart it
/// if that fails. `/ready` is whether the tee can do its whole job right now: every listener
/// has at least one healthy target (one whose last connect did not fail within
/// `target_cooldown`) and, with a `riemann` section, the Riemann client is connected. A tee that
/// is not ready still relays what it can (and queues events for Riemann): take it out of a
/// load balancer's rotation, or alert, but do not restart it for that.
enum ReadinessCheck {
    /// One listener as readiness sees it.
    struct Listener: Sendable {
        var name: String
        var healthyTargets: Int
    }

    /// The readiness of a tee in this state.
    /// - Parameters:
    ///   - serving: listeners bound and not shutting down.
    ///   - listeners: the listeners accepting connections.
    ///   - riemannConnected: whether the Riemann client is connected; `nil` without Riemann.
    static func readiness(serving: Bool, listeners: [Listener], riemannConnected: Bool?) -> AdminServer.Readiness {
        var problems: [String] = []
        if !serving { problems.append("not serving (starting or shutting down)") }
        for listener in listeners where listener.healthyTargets == 0 {
            problems.append("listener \(listener.name): no healthy target (the last connect to each failed)")
        }
        if riemannConnected == false { problems.append("riemann: not connected") }
        return AdminServer.Readiness(problems: problems)
    }

    /// ``Listener`` of a running listener.
    static func listener(_ listener: RelayListener) -> Listener {
        Listener(name: listener.name, healthyTargets: listener.healthyTargetCount)
    }
}

extension RelayListener {
    /// Targets not cooling down after a failed connect (for `/ready` and self-monitoring).
    var healthyTargetCount: Int {
        let pool = self.targetPool
        return pool.targets.indices.filter { pool.isHealthy($0) }.count
    }
}
