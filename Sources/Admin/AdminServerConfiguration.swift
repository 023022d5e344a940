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
        /// A connection must deliver a complete request within this long of being accepted, or
        /// of its previous response; otherwise it is closed. Bytes trickling in do not extend it,
        /// so idle keep-alive sockets and slow ("slow loris") requests go alike. Default 5 s: a
        /// probe or a scrape sends its request at once.
        public var requestTimeout: Duration = .seconds(5)
        /// A request must be answered, and the response taken by the client, within this long;
        /// otherwise the connection is closed (a client that does not read its `/metrics`).
        /// Default 30 s.
        public var responseTimeout: Duration = .seconds(30)
        /// Open admin connections at most. When all are taken, a new connection takes the slot
        /// of the one that has waited longest for a request; it is closed at once only when
        /// every slot is answering a request. Default 32.
        public var maximumConnections: Int = 32

        public init(host: String = "127.0.0.1", port: Int = AdminServer.Configuration.defaultPort) {
            self.host = host
            self.port = port
        }
    }

    /// What `/ready` answers: ready, or the reasons it is not.
    public struct Readiness: Sendable, Hashable {
        /// Why the tee is not ready, one line each (`listener agents: no healthy target`); empty
        /// when ready.
        public var problems: [String]

        public init(problems: [String]) {
            self.problems = problems
        }

        public static let ready = Readiness(problems: [])

        public var isReady: Bool { self.problems.isEmpty }
    }
}
