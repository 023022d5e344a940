import Foundation

/// Runs the real `zabbix_sender` (Zabbix 6.0 or 7.0) against 127.0.0.1.
///
/// Exit codes seen with 6.0.14: 0 all values processed; 2 the peer answered but failed some
/// values (e.g. unknown host); 1 sending failed (nothing listening, bad response). 7.0.9 exits 0
/// whenever the peer answered, failed values or not (`expectedExitCode(failed:)`), so read the counters.
public enum ZabbixSender {
    /// One value to send: `host key value`, or `host key clock value` when it has a clock (a run
    /// whose values all have one is sent with `-T`).
    public struct Value: Sendable {
        public var host: String
        public var key: String
        public var value: String
        public var clock: Int64?
        public init(host: String, key: String, value: String, clock: Int64? = nil) {
            self.host = host
            self.key = key
            self.value = value
            self.clock = clock
        }
    }

    /// What `zabbix_sender` did, with the peer's counters parsed from its output.
    public struct Result: Sendable, CustomStringConvertible {
        public let process: ProcessResult
        /// Sum of `processed:` over all responses; nil if no response was printed.
        public let processed: Int?
        /// Sum of `failed:` over all responses; nil if no response was printed.
        public let failed: Int?
        /// Sum of `total:` over all responses; nil if no response was printed.
        public let total: Int?
        public var exitCode: Int32 { process.exitCode }
        public var description: String { process.description }

        init(_ process: ProcessResult) {
            self.process = process
            let text = process.standardOutput
            processed = Self.sum("processed", in: text)
            failed = Self.sum("failed", in: text)
            total = Self.sum("; total", in: text)
        }

        /// What this version exits with when the peer answered and failed `failed` values.
        public static func expectedExitCode(failed: Int, version: ZabbixLabVersion) -> Int32 {
            failed > 0 && version == .v6_0 ? 2 : 0
        }

        private static func sum(_ label: String, in text: String) -> Int? {
            var found: Int?
            for line in text.split(separator: "\n") where line.hasPrefix("Response from") {
                guard let range = line.range(of: "\(label): ") else { continue }
                let digits = line[range.upperBound...].prefix(while: \.isNumber)
                found = (found ?? 0) + (Int(digits) ?? 0)
            }
            return found
        }
    }

    /// `zabbix_sender -z 127.0.0.1 -p port -s host -k key -o value` plus `extraArguments`, of `version`.
    public static func send(
        port: Int,
        host: String,
        key: String,
        value: String,
        extraArguments: [String] = [],
        timeout: Duration = .seconds(30),
        version: ZabbixLabVersion = .v6_0
    ) async throws -> Result {
        let arguments = ["-z", "127.0.0.1", "-p", String(port), "-s", host, "-k", key, "-o", value]
        return Result(
            try await ProcessRunner.run(version.programs.sender, arguments + extraArguments, timeout: timeout)
        )
    }

    /// Sends several values in one run via `-i -` (one connection, up to 250 values per request).
    public static func send(
        port: Int,
        values: [Value],
        extraArguments: [String] = [],
        timeout: Duration = .seconds(30),
        version: ZabbixLabVersion = .v6_0
    ) async throws -> Result {
        let timed = !values.isEmpty && values.allSatisfy { $0.clock != nil }
        let input =
            values.map { value in
                [quote(value.host), quote(value.key)] + (timed ? [String(value.clock ?? 0)] : []) + [quote(value.value)]
            }.map { $0.joined(separator: " ") }.joined(separator: "\n") + "\n"
        let arguments = ["-z", "127.0.0.1", "-p", String(port)] + (timed ? ["-T"] : []) + ["-i", "-"] + extraArguments
        return Result(try await ProcessRunner.run(version.programs.sender, arguments, input: input, timeout: timeout))
    }

    /// Quotes a field for `zabbix_sender -i`: double quotes, with `"` and `\` escaped.
    static func quote(_ field: String) -> String {
        "\"" + field.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
    }
}
