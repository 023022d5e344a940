import Foundation
import Synchronization

/// One running Zabbix daemon (agentd, agent2, proxy, server) of either version in a lab directory.
///
/// Started in the foreground by `ChildProcess`, so it leads a process group of its own that all its
/// forked workers join; `stop()` empties that group and checks that nothing is left.
public final class ZabbixDaemon: Sendable {
    /// Short program name used in messages, e.g. "zabbix_agentd".
    public let program: String
    /// The lab directory holding config, log, pid file and sockets; removed by `stop()`.
    public let directory: String
    public let configFile: String
    public let logFile: String
    /// The TCP port it listens on, on 127.0.0.1.
    public let port: Int
    /// Pid of the main process, which is also the process group of all its workers.
    public let pid: Int32

    private let child: ChildProcess
    private let outputFile: String
    private let stopped = StopOnce()

    private init(
        program: String,
        directory: String,
        configFile: String,
        logFile: String,
        port: Int,
        child: ChildProcess,
        outputFile: String
    ) {
        self.program = program
        self.directory = directory
        self.configFile = configFile
        self.logFile = logFile
        self.port = port
        self.pid = child.pid
        self.child = child
        self.outputFile = outputFile
    }

    /// What to start: which program of which version, on which port, with which configuration.
    public struct Options: Sendable {
        public var program: ZabbixDaemonProgram
        public var version: ZabbixLabVersion
        /// Port to listen on; nil picks a free one.
        public var port: Int?
        /// The program's own `Key=Value` lines, after the common ones
        /// (`ZabbixDaemonProgram.commonConfiguration`); given the lab directory, for sockets and databases.
        public var configuration: @Sendable (_ directory: String) -> [String]
        /// Runs in the lab directory before the program starts (e.g. creating its database).
        public var prepare: (@Sendable (_ directory: String) async throws -> Void)?
        /// How long it may take to accept connections.
        public var startTimeout: Duration = .seconds(30)

        public init(
            _ program: ZabbixDaemonProgram,
            version: ZabbixLabVersion,
            port: Int? = nil,
            configuration: @escaping @Sendable (_ directory: String) -> [String]
        ) {
            self.program = program
            self.version = version
            self.port = port
            self.configuration = configuration
        }
    }

    /// Creates a lab directory, writes the configuration to `<directory>/<program>.conf`, starts the
    /// program in the foreground and waits until it accepts TCP connections on its port. On failure
    /// nothing is left running and the directory is removed.
    public static func start(_ options: Options) async throws -> ZabbixDaemon {
        let program = options.program
        guard let executable = program.executable(options.version), ZabbixPrograms.isExecutable(executable) else {
            throw ZabbixLabError.missing("\(program.rawValue) \(options.version)")
        }
        let directory = try ZabbixLabDirectory.create(program.directoryName)
        do {
            let port = try options.port ?? LoopbackPort.free()
            let logFile = "\(directory)/\(program.rawValue).log"
            let configuration =
                program.commonConfiguration(directory: directory, port: port, logFile: logFile)
                + options.configuration(directory)
            try await options.prepare?(directory)
            return try await launch(
                program: program.rawValue,
                executable: executable,
                arguments: program.arguments(configFile:),
                configuration: configuration,
                port: port,
                directory: directory,
                logFile: logFile,
                startTimeout: options.startTimeout
            )
        } catch {
            ZabbixLabDirectory.remove(directory)
            throw error
        }
    }

    /// Writes `configuration` (one `Key=Value` per line) to `<directory>/<program>.conf`, starts
    /// `executable` with `arguments(configFile)`, and waits until it accepts TCP connections on `port`.
    private static func launch(
        program: String,
        executable: String,
        arguments: (String) -> [String],
        configuration: [String],
        port: Int,
        directory: String,
        logFile: String,
        startTimeout: Duration
    ) async throws -> ZabbixDaemon {
        let configFile = "\(directory)/\(program).conf"
        let outputFile = "\(directory)/\(program).out"
        try (configuration.joined(separator: "\n") + "\n").write(toFile: configFile, atomically: true, encoding: .utf8)
        let child = try ChildProcess(executable, arguments(configFile), stdoutPath: outputFile, stderrPath: outputFile)
        let daemon = ZabbixDaemon(
            program: program,
            directory: directory,
            configFile: configFile,
            logFile: logFile,
            port: port,
            child: child,
            outputFile: outputFile
        )
        do {
            try await waitUntil("\(program) to listen on 127.0.0.1:\(port)", timeout: startTimeout) {
                if LoopbackPort.isAccepting(port) { return true }
                if !daemon.isRunning {
                    throw ZabbixLabError.exitedEarly(program: program, output: daemon.diagnostics())
                }
                return false
            }
        } catch {
            try? await daemon.stop()
            throw error
        }
        return daemon
    }

    /// True while the main process runs.
    public var isRunning: Bool { child.isRunning }

    /// Live processes of this daemon (main process and workers).
    public var processes: [ProcessGroup.Member] { ProcessGroup.members(pid) }

    /// The daemon's log file so far.
    public func log() -> String {
        (try? String(contentsOfFile: logFile, encoding: .utf8)) ?? ""
    }

    /// Stdout/stderr and the tail of the log, for error messages.
    public func diagnostics() -> String {
        "--- \(outputFile)\n\(ZabbixLabDirectory.tail(outputFile))\n--- \(logFile)\n\(ZabbixLabDirectory.tail(logFile))"
    }

    /// SIGTERMs the daemon's process group, SIGKILLs it after `grace`, removes the lab directory,
    /// and throws if any process survived. Calling it again does nothing.
    public func stop(grace: Duration = .seconds(15)) async throws {
        guard stopped.claim() else { return }
        let left = await ProcessGroup.terminate(pid, grace: grace)
        try await waitUntil("\(program) to be reaped", timeout: .seconds(5)) { !isRunning }
        ZabbixLabDirectory.remove(directory)
        if !left.isEmpty { throw ZabbixLabError.stillRunning(program: program, pids: left.map(\.pid)) }
    }

    /// Blocking twin of `stop()`, for `atexit` clean-up.
    public func stopBlocking(grace: Duration = .seconds(15)) {
        guard stopped.claim() else { return }
        ProcessGroup.terminateBlocking(pid, grace: grace)
        ZabbixLabDirectory.remove(directory)
    }
}
