/// Deterministic items every lab agent (agentd and agent2) provides through `UserParameter`s,
/// so tests know the exact value a key yields.
public enum ZabbixTestItems {
    /// Unsigned integer item: value type 3 (numeric unsigned).
    public static let intKey = "lab.int"
    public static let intValue = "42"
    /// Float item: value type 0.
    public static let floatKey = "lab.float"
    public static let floatValue = "3.25"
    /// Short text item (value type 1 or 4).
    public static let textKey = "lab.text"
    public static let textValue = "zabbix-tee lab text"
    /// Text over 256 KiB: 19 200 lines "0123456789abcde", joined by newlines (307 199 bytes;
    /// the agent strips the command's trailing newline). `yes` is told to be quiet: agentd 7.0 runs
    /// commands with SIGPIPE ignored and keeps their standard error, so `yes` would append
    /// "yes: standard output: Broken pipe" when `head` stops reading.
    public static let bigTextKey = "lab.bigtext"
    public static let bigTextValue: String = {
        let line = "0123456789abcde"
        return Array(repeating: line, count: 19_200).joined(separator: "\n")
    }()
    /// Echoes its first parameter: `lab.echo[hello]` yields `hello`.
    public static let echoKey = "lab.echo"

    /// `UserParameter=` lines for the agent configuration.
    public static var userParameters: [String] {
        [
            "UserParameter=\(intKey),echo \(intValue)",
            "UserParameter=\(floatKey),echo \(floatValue)",
            "UserParameter=\(textKey),echo '\(textValue)'",
            "UserParameter=\(bigTextKey),yes 0123456789abcde 2>/dev/null | head -n 19200",
            "UserParameter=\(echoKey)[*],echo '$1'",
        ]
    }

    /// Item key of a log item that follows `path` (active checks only): `log[path]`.
    public static func logKey(_ path: String) -> String { "log[\(path)]" }
}
