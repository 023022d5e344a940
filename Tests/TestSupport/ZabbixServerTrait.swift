import Testing

extension Trait where Self == ConditionTrait {
    /// Runs the suite only where the real `zabbix_server` and PostgreSQL are installed
    /// (`scripts/install-test-deps.sh`), and says so when they are not: the one wording of that
    /// condition for every suite that drives the real server.
    public static var zabbixServerInstalled: Self {
        .enabled(
            if: ZabbixPrograms.serverUnavailableReason == nil,
            "zabbix_server or PostgreSQL missing: run scripts/install-test-deps.sh"
        )
    }
}
