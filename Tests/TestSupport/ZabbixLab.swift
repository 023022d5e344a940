/// The Zabbix lab: real Debian Zabbix programs on 127.0.0.1 for end-to-end tests, 6.0 and 7.0 side by
/// side (`ZabbixLabVersion`). No mocks.
///
/// Setup: `scripts/install-test-deps.sh` (as root) installs the 6.0 agents and proxy and PostgreSQL,
/// unpacks the 6.0 `zabbix-server-pgsql` into `/opt/zabbix-server` (it conflicts with the proxy
/// package), and unpacks all of 7.0 (bookworm-backports) into `/opt/zabbix-7.0` (`ZabbixPrograms`).
///
/// Pieces (each starts in a fresh `/tmp/zabbix-lab-*` directory with a generated config, waits
/// until its port accepts, and `stop()`s its whole process group, throwing if anything survives):
/// - `ZabbixAgentd`, `ZabbixAgent2`: agents answering `ZabbixTestItems` (deterministic values),
///   passive always, active with `Options.activeServer`; `Options.version` picks 6.0 or 7.0.
/// - `ZabbixProxy`: SQLite proxy, passive by default, active with `Options.activeServer`. With no
///   server behind it, it answers senders (`processed: 0; failed: 1`) and agents (`host [x] not found`).
/// - `ZabbixServerLab`: PostgreSQL cluster + Zabbix database + `zabbix_server`; `shared(version)` gives
///   one per version and test process (stopped at exit), `addHost` adds hosts/items by SQL and waits
///   until the server knows them, `waitForHistory` reads what was stored.
/// - `ZabbixSender`, `ZabbixGet`: the CLI tools, with a timeout, parsed results and a `version:`.
/// - `ZabbixTestLogFile`: a file for `log[...]` items.
/// - Generic: `ZabbixDaemon` (what the daemons share: options, start, stop), `LoopbackPort` (ports
///   Zabbix accepts: below 32768), `waitUntil` (poll with a deadline, never sleep), `ProcessRunner`,
///   `ChildProcess`, `ProcessGroup`.
///
/// To put the tee between two programs, point one at the tee's listener: `ServerActive=` via
/// `Options.activeServer`, `zabbix_sender -p`, a proxy's `Server=`, or a host's `agentPort`.
///
/// Every helper stops what it started; `withRunning` does so even when the body throws. After a
/// test process is killed, `scripts/zabbix-lab-cleanup.sh` stops what it left behind.
/// `ZABBIX_LAB_KEEP=1` keeps the lab directories (configs, logs) for post-mortems.
public enum ZabbixLab {}
