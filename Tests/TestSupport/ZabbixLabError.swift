/// Failures of the Zabbix lab helpers, with enough context (log tails) to debug a CI run.
public enum ZabbixLabError: Error, CustomStringConvertible {
    /// A daemon exited before it became ready.
    case exitedEarly(program: String, output: String)
    /// Processes of a daemon survived SIGTERM and SIGKILL.
    case stillRunning(program: String, pids: [Int32])
    /// A helper command (initdb, psql, pg_ctl, ...) failed.
    case commandFailed(command: String, result: ProcessResult)
    /// A program the lab needs is not installed.
    case missing(String)

    public var description: String {
        switch self {
        case .exitedEarly(let program, let output): return "\(program) exited before it was ready:\n\(output)"
        case .stillRunning(let program, let pids): return "\(program) still running after stop: pids \(pids)"
        case .commandFailed(let command, let result): return "\(command) failed: \(result)"
        case .missing(let what): return "missing: \(what)"
        }
    }
}
