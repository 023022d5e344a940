import Admin
import Relay

extension AdminServer {
    /// The `admin:` section (`nil`: `listen: off`). Takes effect after a restart.
    static var table: ConfigTable<AdminServer.Configuration?> {
        ConfigTable(
            [
                .custom(
                    "listen",
                    \.self,
                    .restart,
                    "address of /metrics, /health and /ready, or off",
                    parse: { (node) throws(ConfigError) in
                        if try node.string() == "off" { return nil }
                        let endpoint = try node.endpoint()
                        return AdminServer.Configuration(host: endpoint.host, port: endpoint.port)
                    },
                    text: { admin in
                        .inline(
                            admin.map { ConfigText.quoted(Endpoint(host: $0.host, port: $0.port).description) }
                                ?? "\"off\""
                        )
                    },
                    same: nil
                )
            ],
            validate: { (node, admin, warnings) throws(ConfigError) in
                if let admin, let listen = node["listen"], let exposure = ConfigLoader.adminExposure(host: admin.host) {
                    warnings.append(listen.warning(exposure))
                }
            }
        )
    }
}
