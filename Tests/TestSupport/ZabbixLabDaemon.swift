/// Options of a lab daemon wrapper: everything has a default, so `withRunning { ... }` starts one
/// with no arguments.
public protocol ZabbixLabDaemonOptions: Sendable {
    init()
}

/// A lab daemon wrapper (`ZabbixAgentd`, `ZabbixAgent2`, `ZabbixProxy`): built from its options
/// by `start`, run and stopped through its `ZabbixDaemon`.
public protocol ZabbixLabDaemon: Sendable {
    associatedtype Options: ZabbixLabDaemonOptions
    /// The running daemon: port, log, pid, stop.
    var daemon: ZabbixDaemon { get }
    /// Starts one and returns once it accepts connections.
    static func start(_ options: Options) async throws -> Self
}

extension ZabbixLabDaemon {
    /// The port it listens on, on 127.0.0.1 (agents: passive checks; proxy: agents and senders).
    public var port: Int { daemon.port }

    /// Its log so far.
    public func log() -> String { daemon.log() }

    /// Stops it and all its forked workers; throws if any survive.
    public func stop() async throws { try await daemon.stop() }

    /// Starts one, runs `body` with it, and stops it whether `body` succeeded or threw.
    public static func withRunning<T: Sendable>(
        _ options: Options = Options(),
        _ body: (Self) async throws -> T
    ) async throws -> T {
        let started = try await start(options)
        do {
            let result = try await body(started)
            try await started.stop()
            return result
        } catch {
            try? await started.stop()
            throw error
        }
    }
}
