/// Runs the real `zabbix_get` (Zabbix 6.0): one passive check against an agent on 127.0.0.1.
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

    /// `zabbix_get -s 127.0.0.1 -p port -k key` plus `extraArguments`.
    public static func get(
        port: Int, key: String, extraArguments: [String] = [], timeout: Duration = .seconds(30)
    ) async throws -> Result {
        let arguments = ["-s", "127.0.0.1", "-p", String(port), "-k", key] + extraArguments
        return Result(process: try await ProcessRunner.run(ZabbixPrograms.get, arguments, timeout: timeout))
    }
}
