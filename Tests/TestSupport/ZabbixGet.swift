/// Runs the real `zabbix_get` (Zabbix 6.0 or 7.0): one passive check against an agent on 127.0.0.1.
///
/// 6.0 sends the key as plain text. 7.0 sends a JSON `passive checks` request first and, when the
/// agent does not understand it (a 6.0 agent answers `ZBX_NOTSUPPORTED`), the plain key on a second
/// connection.
public enum ZabbixGet {
    /// What `zabbix_get` printed.
    public struct Result: Sendable, CustomStringConvertible {
        public let process: ProcessResult
        /// Standard output without the trailing newline: the item value, or
        /// `ZBX_NOTSUPPORTED: <reason>` for an unsupported key.
        public var value: String {
            var text = process.standardOutput
            if text.hasSuffix("\n") { text.removeLast() }
            return text
        }
        public var exitCode: Int32 { process.exitCode }
        public var description: String { process.description }
    }

    /// `zabbix_get -s 127.0.0.1 -p port -k key` plus `extraArguments`, of `version`.
    public static func get(
        port: Int,
        key: String,
        extraArguments: [String] = [],
        timeout: Duration = .seconds(30),
        version: ZabbixLabVersion = .v6_0
    ) async throws -> Result {
        let arguments = ["-s", "127.0.0.1", "-p", String(port), "-k", key] + extraArguments
        return Result(process: try await ProcessRunner.run(version.programs.get, arguments, timeout: timeout))
    }
}
