import Foundation
import Synchronization

/// A complete Zabbix back end (6.0 or 7.0) for tests: private PostgreSQL cluster, Zabbix database,
/// and `zabbix_server` on 127.0.0.1. A few seconds to start (most of it loading the schema).
///
/// Share one per version and test process with `ZabbixServerLab.shared(version)`: the first caller
/// starts it, later callers get the same one, and it is stopped when the test process exits (an
/// `atexit` handler).
/// Tests sharing it stay independent by creating their own uniquely named hosts with `addHost`.
/// A test that needs a server to itself (restarts, broken configs) uses `start()` and `stop()`.
///
///     let lab = try await ZabbixServerLab.shared()
///     let host = try await lab.addHost("my-test-host", items: [.trapper("my.key")])
///     let sent = try await ZabbixSender.send(port: lab.port, host: host.name, key: "my.key", value: "7")
///     let stored = try await lab.waitForHistory(host, "my.key")
///
/// Tests that need the server should skip when `version.programs.serverUnavailableReason` is
/// non-nil.
public final class ZabbixServerLab: Sendable {
    public let postgres: ZabbixPostgres
    public let database: ZabbixServerDatabase
    public let server: ZabbixServer
    private let stopped = StopOnce()

    /// Trapper port of the server on 127.0.0.1.
    public var port: Int { server.port }
    /// The Zabbix version of the server and its database.
    public var version: ZabbixLabVersion { database.version }
    /// `"127.0.0.1:port"`, for `ServerActive=` / a proxy's `Server=`.
    public var address: String { "127.0.0.1:\(port)" }

    private init(postgres: ZabbixPostgres, database: ZabbixServerDatabase, server: ZabbixServer) {
        self.postgres = postgres
        self.database = database
        self.server = server
    }

    /// Starts a private lab: cluster, database, server. The caller must `stop()` it.
    public static func start(
        _ version: ZabbixLabVersion = .v6_0,
        serverConfiguration: [String] = []
    ) async throws -> ZabbixServerLab {
        if let reason = version.programs.serverUnavailableReason { throw ZabbixLabError.missing(reason) }
        let postgres = try await ZabbixPostgres.start()
        do {
            let database = try await ZabbixServerDatabase.create(in: postgres, version: version)
            let server = try await ZabbixServer.start(database: database, extraConfiguration: serverConfiguration)
            return ZabbixServerLab(postgres: postgres, database: database, server: server)
        } catch {
            try? await postgres.stop()
            throw error
        }
    }

    /// The lab of `version` shared by every test in this process, started on first use and stopped at exit.
    public static func shared(_ version: ZabbixLabVersion = .v6_0) async throws -> ZabbixServerLab {
        let task = sharedLabs.withLock { tasks in
            if let task = tasks[version] { return task }
            let started = Task { () throws -> ZabbixServerLab in
                let lab = try await start(version)
                let first = sharedForExit.withLock { labs in
                    labs.append(lab)
                    return labs.count == 1
                }
                if first { atexit { for running in sharedForExit.withLock({ $0 }) { running.stopBlocking() } } }
                return lab
            }
            tasks[version] = started
            return started
        }
        return try await task.value
    }

    /// Adds a host with `items` (see `ZabbixServerDatabase.addHost`) and waits until the server's
    /// configuration cache knows it, by sending to its `lab.ready` trapper item until the server
    /// accepts the value. Agents started afterwards get their active checks on the first request.
    public func addHost(
        _ name: String,
        items: [ZabbixItemSpec],
        proxyid: Int? = nil,
        agentPort: Int? = nil,
        psk: (identity: String, key: String)? = nil,
        timeout: Duration = .seconds(30)
    ) async throws -> ZabbixHostRecord {
        let host = try await database.addHost(name, items: items, proxyid: proxyid, agentPort: agentPort, psk: psk)
        if proxyid == nil {
            try await waitUntil("server to know host \(name)", timeout: timeout, interval: .milliseconds(200)) {
                let probe = try await ZabbixSender.send(
                    port: port,
                    host: name,
                    key: ZabbixHostRecord.readinessKey,
                    value: "1",
                    version: version
                )
                return probe.processed == 1
            }
        }
        return host
    }

    /// Waits until at least `count` values of `key` on `host` are in history, and returns them all.
    public func waitForHistory(
        _ host: ZabbixHostRecord,
        _ key: String,
        count: Int = 1,
        timeout: Duration = .seconds(30)
    ) async throws -> [ZabbixHistoryValue] {
        guard let item = host.items[key] else { throw ZabbixLabError.missing("item \(key) on host \(host.name)") }
        var values: [ZabbixHistoryValue] = []
        try await waitUntil(
            "\(count) value(s) of \(key) on \(host.name) in \(item.valueType.historyTable)",
            timeout: timeout,
            interval: .milliseconds(200)
        ) {
            values = try await database.history(itemid: item.itemid, valueType: item.valueType)
            return values.count >= count
        }
        return values
    }

    /// Stops the server, then the cluster; removes their directories. Calling it again does nothing.
    public func stop() async throws {
        guard stopped.claim() else { return }
        var failure: Error?
        do { try await server.stop() } catch { failure = error }
        do { try await postgres.stop() } catch { failure = failure ?? error }
        if let failure { throw failure }
    }

    /// Blocking twin of `stop()`, for `atexit` clean-up.
    public func stopBlocking() {
        guard stopped.claim() else { return }
        server.daemon.stopBlocking(grace: .seconds(30))
        postgres.stopBlocking()
    }
}

private let sharedLabs = Mutex<[ZabbixLabVersion: Task<ZabbixServerLab, Error>]>([:])
private let sharedForExit = Mutex<[ZabbixServerLab]>([])
