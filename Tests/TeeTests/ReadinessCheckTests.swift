import Admin
import Testing

@testable import Tee

/// `/ready` is about reachability (targets, Riemann); `/health` only about being up.
struct ReadinessCheckTests {
    typealias Listener = ReadinessCheck.Listener

    @Test func readyWhenServingEveryListenerHasAHealthyTargetAndRiemannIsConnected() {
        let readiness = ReadinessCheck.readiness(
            serving: true,
            listeners: [Listener(name: "agents", healthyTargets: 1), Listener(name: "proxies", healthyTargets: 2)],
            riemannConnected: true
        )
        #expect(readiness == .ready)
        #expect(
            ReadinessCheck.readiness(
                serving: true,
                listeners: [Listener(name: "a", healthyTargets: 1)],
                riemannConnected: nil
            ) == .ready,
            "without a riemann section, Riemann is not asked about"
        )
    }

    @Test func eachProblemIsNamed() {
        let readiness = ReadinessCheck.readiness(
            serving: false,
            listeners: [Listener(name: "agents", healthyTargets: 0), Listener(name: "proxies", healthyTargets: 1)],
            riemannConnected: false
        )
        #expect(!readiness.isReady)
        #expect(
            readiness.problems == [
                "not serving (starting or shutting down)",
                "listener agents: no healthy target (the last connect to each failed)",
                "riemann: not connected",
            ]
        )
    }
}
