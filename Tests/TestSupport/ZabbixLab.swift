/// The Zabbix lab: real Debian Zabbix 6.0 programs on 127.0.0.1 for end-to-end tests. No mocks.
///
/// Setup: `scripts/install-test-deps.sh` (as root) installs the agents, proxy, PostgreSQL, and
/// unpacks `zabbix-server-pgsql` into `/opt/zabbix-server` (it conflicts with the proxy package).
///
/// Pieces (each starts in a fresh `/tmp/zabbix-lab-*` directory with a generated config, waits
/// until its port accepts, and `stop()`s its whole process group, throwing if anything survives):
/// - `ZabbixAgentd`, `ZabbixAgent2`: agents answering `ZabbixTestItems` (deterministic values),
///   passive always, active with `Options.activeServer`.
/// - `ZabbixProxy`: SQLite proxy, passive by default, active with `Options.activeServer`. With no
///   server behind it, it answers senders (`processed: 0; failed: 1`) and agents (`host [x] not found`).
/// - `ZabbixServerLab`: PostgreSQL cluster + Zabbix database + `zabbix_server`; `shared()` gives one
///   per test process (stopped at exit), `addHost` adds hosts/items by SQL and waits until the
///   server knows them, `waitForHistory` reads what was stored.
/// - `ZabbixSender`, `ZabbixGet`: the CLI tools, with a timeout and parsed results.
/// - `ZabbixTestLogFile`: a file for `log[...]` items.
/// - Generic: `LoopbackPort` (ports Zabbix accepts: below 32768), `waitUntil` (poll with a
///   deadline, never sleep), `ProcessRunner`, `ChildProcess`, `ProcessGroup`.
///
/// To put the tee between two programs, point one at the tee's listener: `ServerActive=` via
/// `Options.activeServer`, `zabbix_sender -p`, a proxy's `Server=`, or a host's `agentPort`.
///
/// Every helper stops what it started; `withRunning` does so even when the body throws. After a
/// test process is killed, `scripts/zabbix-lab-cleanup.sh` stops what it left behind.
/// `ZABBIX_LAB_KEEP=1` keeps the lab directories (configs, logs) for post-mortems.
public enum ZabbixLab {
    /// The Zabbix version the lab was written against (Debian bookworm: 6.0.14).
    public static let expectedVersion = "6.0"
}
