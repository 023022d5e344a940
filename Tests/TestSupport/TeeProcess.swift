import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// The real `zabbix-tee` executable, run as a separate process the way an operator runs it.
///
/// The binary is the one `swift build` put next to the test bundle (override with the
/// `ZABBIX_TEE_BINARY` environment variable).
public final class TeeProcess: Sendable {
    public let child: ChildProcess
    public let directory: String
    public let configFile: String
    public let logFile: String
    /// The ports of the listeners, in configuration order (one address each).
    public let ports: [Int]

    /// Path of the `zabbix-tee` executable built with the tests.
    public static var binary: String {
        if let override = ProcessInfo.processInfo.environment["ZABBIX_TEE_BINARY"] { return override }
        let bundle =
            (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        return URL(fileURLWithPath: bundle).deletingLastPathComponent().appendingPathComponent("zabbix-tee").path
    }

    /// A listener block for ``start(configuration:)``: one listen port on 127.0.0.1 and its targets.
    public static func listener(name: String, port: Int, targets: [Int], extra: [String] = []) -> String {
        var lines = [
            "  - name: \(name)",
            "    listen: [\"127.0.0.1:\(port)\"]",
            "    targets: [\(targets.map { "\"127.0.0.1:\($0)\"" }.joined(separator: ", "))]",
        ]
        lines += extra.map { "    \($0)" }
        return lines.joined(separator: "\n")
    }

    /// The release build of `zabbix-tee`, for tests that measure it (memory ceilings):
    /// `ZABBIX_TEE_RELEASE_BINARY`, or `swift build -c release --product zabbix-tee` into
    /// `.build-release` of this package (a no-op when `scripts/test.sh` already built it; a
    /// scratch path of its own, as `swift test` holds the lock of `.build`).
    public static func releaseBinary() async throws -> String {
        if let path = ProcessInfo.processInfo.environment["ZABBIX_TEE_RELEASE_BINARY"] { return path }
        let package = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().path
        let scratch = "\(package)/.build-release"
        let result = try await ProcessRunner.run(
            "/bin/sh",
            [
                "-c", "cd \"$0\" && exec swift build -c release --product zabbix-tee --scratch-path \"$1\"", package,
                scratch,
            ],
            timeout: .seconds(1800)
        )
        guard result.exitCode == 0 else {
            throw TeeProcessError.releaseBuildFailed(result.standardOutput + result.standardError)
        }
        return "\(scratch)/release/zabbix-tee"
    }

    /// Writes `configuration` to a fresh directory, starts `zabbix-tee run` and waits until
    /// every port in `ports` accepts connections. With `softFileLimit` the tee starts with that
    /// soft `RLIMIT_NOFILE` (through `sh -c 'ulimit -Sn N; exec ...'`, same pid). With
    /// `stderrDescriptor` its standard error is that descriptor (a pipe the test controls)
    /// instead of the log file, which then holds standard output only. `binary` is the
    /// executable (``binary`` by default); `launcher` is put in front of the command (a prefix
    /// that execs it, such as ``MemoryCeiling/prefix``).
    public static func start(
        configuration: String,
        ports: [Int],
        arguments: [String] = [],
        softFileLimit: Int? = nil,
        stderrDescriptor: Int32? = nil,
        binary: String = TeeProcess.binary,
        launcher: [String] = []
    ) async throws -> TeeProcess {
        let directory = try ZabbixLabDirectory.create("tee")
        let configFile = "\(directory)/config.yaml"
        try Self.configurationText(configuration).write(toFile: configFile, atomically: true, encoding: .utf8)
        let logFile = "\(directory)/tee.log"
        var command = [binary, "run", "--config", configFile] + arguments
        if let limit = softFileLimit {
            command = ["/bin/sh", "-c", "ulimit -Sn \(limit) && exec \"$0\" \"$@\""] + command
        }
        command = launcher + command
        let child = try ChildProcess(
            command[0],
            Array(command.dropFirst()),
            stdoutPath: logFile,
            stderrPath: logFile,
            stderrDescriptor: softFileLimit == nil ? stderrDescriptor : nil
        )
        let tee = TeeProcess(child: child, directory: directory, configFile: configFile, logFile: logFile, ports: ports)
        do {
            try await waitUntil("zabbix-tee to listen on \(ports)", timeout: .seconds(20), interval: .milliseconds(20))
            {
                guard child.isRunning else { throw TeeProcessError.exited(child.exitCode ?? -1, tee.log()) }
                return ports.allSatisfy { LoopbackPort.isAccepting($0) }
            }
        } catch {
            _ = try? await tee.stop()
            throw error
        }
        return tee
    }

    /// Tests run tees side by side: no admin endpoint unless the test configures one.
    private static func configurationText(_ configuration: String) -> String {
        configuration.contains("\nadmin:") || configuration.hasPrefix("admin:")
            ? configuration : configuration + "\nadmin:\n  listen: \"off\"\n"
    }

    /// Replaces the configuration file (atomically, as an editor or deployment tool would);
    /// call ``reload()`` to make the tee read it.
    public func rewriteConfiguration(_ configuration: String) throws {
        try Self.configurationText(configuration).write(toFile: self.configFile, atomically: true, encoding: .utf8)
    }

    /// Sends SIGHUP (reload the configuration file) and waits until the tee logged the outcome:
    /// the `count`-th reload line (`configuration reloaded` or `configuration reload rejected`).
    public func reload(expectingOutcome count: Int, timeout: Duration = .seconds(10)) async throws {
        kill(self.child.pid, SIGHUP)
        try await waitUntil("zabbix-tee to log reload \(count)", timeout: timeout, interval: .milliseconds(10)) {
            guard self.child.isRunning else { throw TeeProcessError.exited(self.child.exitCode ?? -1, self.log()) }
            let log = self.log()
            return log.components(separatedBy: "configuration reload").count - 1 >= count
        }
    }

    /// Starts a tee, runs `body`, and stops the tee even if `body` throws.
    public static func withRunning<T: Sendable>(
        configuration: String,
        ports: [Int],
        _ body: (TeeProcess) async throws -> T
    ) async throws -> T {
        let tee = try await Self.start(configuration: configuration, ports: ports)
        do {
            let result = try await body(tee)
            _ = try await tee.stop()
            return result
        } catch {
            _ = try? await tee.stop()
            throw error
        }
    }

    private init(child: ChildProcess, directory: String, configFile: String, logFile: String, ports: [Int]) {
        self.child = child
        self.directory = directory
        self.configFile = configFile
        self.logFile = logFile
        self.ports = ports
    }

    /// Everything the tee logged so far.
    public func log() -> String {
        (try? String(contentsOfFile: self.logFile, encoding: .utf8)) ?? ""
    }

    /// Sends `signal` (SIGTERM by default) and waits for the exit; returns the exit code.
    /// Kills the process if it has not exited within `timeout`.
    @discardableResult
    public func stop(signal: Int32 = SIGTERM, timeout: Duration = .seconds(20)) async throws -> Int32 {
        if self.child.isRunning { kill(self.child.pid, signal) }
        do {
            try await waitUntil("zabbix-tee to exit", timeout: timeout, interval: .milliseconds(10)) {
                !self.child.isRunning
            }
        } catch {
            kill(self.child.pid, SIGKILL)
            try await waitUntil("killed zabbix-tee to exit", timeout: .seconds(5), interval: .milliseconds(10)) {
                !self.child.isRunning
            }
            throw error
        }
        if ProcessInfo.processInfo.environment["ZABBIX_LAB_KEEP"] == nil {
            try? FileManager.default.removeItem(atPath: self.directory)
        }
        return self.child.exitCode ?? -1
    }
}

public enum TeeProcessError: Error, CustomStringConvertible {
    case exited(Int32, String)
    case releaseBuildFailed(String)
    public var description: String {
        switch self {
        case .exited(let code, let log): return "zabbix-tee exited with \(code) during start-up:\n\(log)"
        case .releaseBuildFailed(let output): return "swift build -c release failed:\n\(output)"
        }
    }
}
