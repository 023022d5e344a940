import Foundation

/// A private PostgreSQL cluster on 127.0.0.1 for a lab Zabbix server: its own data directory,
/// port and socket directory, trust authentication for the superuser `zabbix`, no fsync.
///
/// When the tests run as root (CI), `initdb` and `pg_ctl` run as the `postgres` user (PostgreSQL
/// refuses root) via `runuser`; otherwise as the current user. Clients (`psql`, `zabbix_server`)
/// connect over TCP as `zabbix` without a password.
public final class ZabbixPostgres: Sendable {
    /// Superuser created by `initdb`, also the owner of the Zabbix database.
    public let user = "zabbix"
    public let port: Int
    /// Lab directory: `data/` (the cluster), `postgres.log`, the Unix socket.
    public let directory: String
    public var dataDirectory: String { "\(directory)/data" }
    /// Pid of the postmaster, which leads its own process group.
    public let postmasterPid: Int32
    private let bin: String

    private init(port: Int, directory: String, bin: String, postmasterPid: Int32) {
        self.port = port
        self.directory = directory
        self.bin = bin
        self.postmasterPid = postmasterPid
    }

    /// Creates and starts a cluster (about 1 s) and returns once it accepts connections.
    public static func start() async throws -> ZabbixPostgres {
        guard let bin = ZabbixPrograms.postgresBin else { throw ZabbixLabError.missing("PostgreSQL (initdb)") }
        let directory = try ZabbixLabDirectory.create("pg")
        do {
            if getuid() == 0 {
                let chown = try await ProcessRunner.run("/bin/chown", ["postgres:postgres", directory])
                guard chown.exitCode == 0 else { throw ZabbixLabError.commandFailed(command: "chown", result: chown) }
            }
            let port = try LoopbackPort.free()
            try await asServerUser(
                "\(bin)/initdb",
                [
                    "-D", "\(directory)/data", "-A", "trust", "-U", "zabbix", "-E", "UTF8",
                    "--locale=C.UTF-8", "--no-sync", "--no-instructions",
                ]
            )
            let options = [
                "-c listen_addresses=127.0.0.1", "-p \(port)", "-c unix_socket_directories=\(directory)",
                "-c fsync=off", "-c synchronous_commit=off", "-c full_page_writes=off",
            ].joined(separator: " ")
            try await asServerUser(
                "\(bin)/pg_ctl",
                [
                    "-D", "\(directory)/data", "-l", "\(directory)/postgres.log", "-w", "-t", "60", "-o", options,
                    "start",
                ]
            )
            let pidLine =
                try String(contentsOfFile: "\(directory)/data/postmaster.pid", encoding: .utf8)
                .split(separator: "\n").first.map(String.init) ?? ""
            guard let pid = Int32(pidLine) else { throw ZabbixLabError.missing("postmaster.pid in \(directory)") }
            return ZabbixPostgres(port: port, directory: directory, bin: bin, postmasterPid: pid)
        } catch {
            ZabbixLabDirectory.remove(directory)
            throw error
        }
    }

    /// Runs SQL through `psql` (stop at the first error) and returns the rows, tab-separated
    /// columns split, without headers. Values containing newlines or tabs would be split too:
    /// select `encode(convert_to(col, 'UTF8'), 'hex')` for those.
    @discardableResult
    public func query(_ sql: String, database: String = "zabbix") async throws -> [[String]] {
        let result = try await ProcessRunner.run("\(bin)/psql", psqlArguments(database: database), input: sql)
        guard result.exitCode == 0 else { throw ZabbixLabError.commandFailed(command: "psql", result: result) }
        return result.standardOutput.split(separator: "\n").map {
            $0.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
        }
    }

    /// Runs a shell `script` with `$PSQL` set to a psql command line for `database`
    /// (for piping large files: `gzip -dc schema.sql.gz | $PSQL`).
    public func shell(_ script: String, database: String = "zabbix", timeout: Duration = .seconds(120)) async throws {
        let psql = (["\(bin)/psql"] + psqlArguments(database: database)).joined(separator: " ")
        let result = try await ProcessRunner.run(
            "/bin/sh",
            ["-c", "set -e\nPSQL='\(psql)'\n\(script)"],
            timeout: timeout
        )
        guard result.exitCode == 0 else { throw ZabbixLabError.commandFailed(command: "sh: \(script)", result: result) }
    }

    /// Creates an empty database owned by `zabbix`.
    public func createDatabase(_ name: String) async throws {
        try await query("CREATE DATABASE \(name) ENCODING 'UTF8' TEMPLATE template0;", database: "postgres")
    }

    /// Stops the cluster (fast shutdown), kills it if it lingers, removes its directory.
    public func stop() async throws {
        _ = try? await Self.asServerUser(
            "\(bin)/pg_ctl",
            ["-D", dataDirectory, "-m", "fast", "-w", "-t", "30", "stop"]
        )
        let left = await ProcessGroup.terminate(postmasterPid, grace: .seconds(5))
        ZabbixLabDirectory.remove(directory)
        if !left.isEmpty { throw ZabbixLabError.stillRunning(program: "postgres", pids: left.map(\.pid)) }
    }

    /// Blocking twin of `stop()`, for `atexit` clean-up.
    public func stopBlocking() {
        _ = try? ProcessRunner.runBlocking(
            Self.serverUserCommand("\(bin)/pg_ctl"),
            Self.serverUserArguments("\(bin)/pg_ctl", ["-D", dataDirectory, "-m", "fast", "-w", "-t", "30", "stop"])
        )
        ProcessGroup.terminateBlocking(postmasterPid, grace: .seconds(5))
        ZabbixLabDirectory.remove(directory)
    }

    private func psqlArguments(database: String) -> [String] {
        [
            "-X", "-q", "-A", "-t", "-F", "\t", "-v", "ON_ERROR_STOP=1",
            "-h", "127.0.0.1", "-p", String(port), "-U", user, "-d", database,
        ]
    }

    @discardableResult
    private static func asServerUser(_ program: String, _ arguments: [String]) async throws -> ProcessResult {
        let result = try await ProcessRunner.run(
            serverUserCommand(program),
            serverUserArguments(program, arguments),
            timeout: .seconds(90)
        )
        guard result.exitCode == 0 else {
            throw ZabbixLabError.commandFailed(command: ([program] + arguments).joined(separator: " "), result: result)
        }
        return result
    }

    private static func serverUserCommand(_ program: String) -> String {
        getuid() == 0 ? "/usr/sbin/runuser" : program
    }

    private static func serverUserArguments(_ program: String, _ arguments: [String]) -> [String] {
        getuid() == 0 ? ["-u", "postgres", "--", program] + arguments : arguments
    }
}
