import Foundation
import Testing

/// The test tiers. A suite or test without a tier is a unit test: no real socket, process, Zabbix
/// program, wall-clock wait or minutes of CPU, so the unit tier runs in parallel in well under two
/// minutes (README, "Test tiers"). `scripts/test.sh` (CI) runs every tier.
///
/// A tiered suite or test carries both its tag and its ``TestTier`` condition,
/// `@Suite(.tags(.integration), .tier(.integration))`: the tag is what Swift Testing and IDEs
/// filter on, and the condition is what lets `swift test` skip a tier. Swift 6.3's `swift test`
/// cannot skip by tag yet (`--skip tag:integration` arrives with swift-testing's tag filters), so
/// `ZABBIX_TEE_SKIP_TIERS=integration,load,exhaustive` does it meanwhile.
extension Tag {
    /// Opens real sockets (loopback), starts processes (the built binary, real Zabbix programs,
    /// PostgreSQL, chromium, riemann-c-client, protoc, python) or waits on the wall clock.
    @Tag public static var integration: Self
    /// Measures throughput, memory ceilings or sustained load: long, and sensitive to a busy machine.
    @Tag public static var load: Self
    /// Pure, but sweeps a space (every split of every fixture): a minute of CPU in a debug build.
    @Tag public static var exhaustive: Self
}

/// A tier a test can be skipped by, named like its ``Tag``.
public enum TestTier: String, Sendable {
    case integration
    case load
    case exhaustive

    /// The tiers `ZABBIX_TEE_SKIP_TIERS` (comma- or space-separated) names.
    public static let skipped: Set<String> = Set(
        (ProcessInfo.processInfo.environment["ZABBIX_TEE_SKIP_TIERS"] ?? "")
            .split(whereSeparator: { $0 == "," || $0 == " " }).map(String.init)
    )
}

extension Trait where Self == ConditionTrait {
    /// Skips the test or suite when `ZABBIX_TEE_SKIP_TIERS` names `tier`; runs it otherwise.
    public static func tier(_ tier: TestTier) -> Self {
        .disabled(
            if: TestTier.skipped.contains(tier.rawValue),
            "the \(tier.rawValue) tier is skipped (ZABBIX_TEE_SKIP_TIERS)"
        )
    }
}
