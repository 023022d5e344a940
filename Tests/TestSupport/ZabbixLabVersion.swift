/// A Zabbix release line the lab runs with real programs, side by side in one test process:
/// 6.0 LTS (Debian bookworm, installed) and 7.0 LTS (bookworm-backports, unpacked beside it).
/// (Not the product's parsed version of what is on the wire: only the lab's choice of programs.)
///
/// End-to-end tests take it as an argument, `@Test(arguments: ZabbixLabVersion.allCases)`, so one
/// test body runs against both; each lab piece (`ZabbixAgentd.Options.version`,
/// `ZabbixServerLab.shared(version)`, `ZabbixSender.send(..., version:)`...) starts that version's
/// program. Where a version's programs are missing, the test case is skipped with the reason
/// (`programs.unavailableReason`), never silently left out.
public enum ZabbixLabVersion: String, Sendable, CaseIterable, Hashable, CustomStringConvertible {
    case v6_0 = "6.0"
    case v7_0 = "7.0"

    /// Where this version's programs are.
    public var programs: ZabbixPrograms { ZabbixPrograms(self) }

    /// The major.minor line, as agent2 6.0 sends it in `version` and as file names carry it.
    public var description: String { rawValue }

    /// Whether this version's agents speak the 7.0 protocol: itemid-only `agent data` from agentd
    /// too, `variant`, JSON passive checks, heartbeats with version and variant.
    public var isAtLeast7: Bool { self >= .v7_0 }
}

extension ZabbixLabVersion: Comparable {
    public static func < (lhs: ZabbixLabVersion, rhs: ZabbixLabVersion) -> Bool {
        allCases.firstIndex(of: lhs)! < allCases.firstIndex(of: rhs)!
    }
}
