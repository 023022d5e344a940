import ArgumentParser

/// `zabbix-tee`: relays Zabbix traffic unchanged and turns a copy into Riemann events.
@main
struct ZabbixTeeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "zabbix-tee",
        abstract: "A transparent relay between Zabbix agents/senders/proxies and a Zabbix server.",
        discussion: """
            zabbix-tee sits where agents, zabbix_sender or proxies expect the Zabbix server. It relays
            every byte both ways unchanged and, on the side, decodes the Zabbix traffic.

            Start with:  zabbix-tee check-config --config config.yaml
            then:        zabbix-tee run --config config.yaml
            """,
        subcommands: [
            RunCommand.self, CheckConfigCommand.self, DecodeCommand.self, ReplayCommand.self, RiemannListenCommand.self,
        ]
    )
}
