import NIOCore

extension AdminServer {
    /// Where the admin server listens and how it bounds its clients.
    public struct Configuration: Sendable {
        /// The default port, 9810: clear of Zabbix (10050 agent, 10051 server/trapper), Riemann
        /// (5555 TCP, 5556 websockets) and the common exporters (9090–9100).
        public static let defaultPort = 9810

        /// Host name or IP literal to bind. Default `127.0.0.1`: metrics stay on the host unless
        /// the operator opts in (e.g. `0.0.0.0` or `::`).
        public var host: String
        /// TCP port to bind; `0` picks a free port (see ``AdminServer/localAddress``). Default 9810.
        public var port: Int
        /// Largest request body accepted (bodies are read and discarded); larger ones get 413
        /// and the connection is closed. Header size is bounded by NIO's HTTP parser (80 KiB).
        /// Default 4 KiB.
        public var maximumRequestBodyBytes: Int = 4096
        /// A connection that sends nothing for this long is closed. Default 60 s.
        public var idleTimeout: TimeAmount = .seconds(60)
        /// Open admin connections beyond this many are closed as soon as they are accepted, so a
        /// misbehaving client cannot pile up file descriptors. Default 32.
        public var maximumConnections: Int = 32

        public init(host: String = "127.0.0.1", port: Int = AdminServer.Configuration.defaultPort) {
            self.host = host
            self.port = port
        }
    }
}
