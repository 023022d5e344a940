/// Where and how the catalog asks the Zabbix API about itemids the wire did not name
/// (`catalog.zabbix_api`).
public struct CatalogAPIConfiguration: Sendable, Hashable {
    /// The API's address, parsed from `url` (`http://host[:port]/path/api_jsonrpc.php`).
    public struct Endpoint: Sendable, Hashable, CustomStringConvertible {
        public var host: String
        public var port: Int
        /// The request target: `/zabbix/api_jsonrpc.php`.
        public var path: String

        public init(host: String, port: Int, path: String) {
            self.host = host
            self.port = port
            self.path = path
        }

        public var description: String { "http://\(self.hostHeader)\(self.path)" }

        /// The `Host` header: `host`, `host:port` unless 80, IPv6 literals in brackets.
        var hostHeader: String {
            let host = self.host.contains(":") ? "[\(self.host)]" : self.host
            return self.port == 80 ? host : "\(host):\(self.port)"
        }

        /// The endpoint of a plain-HTTP `url`, or why it is not one.
        public static func parse(_ url: String) -> Result<Endpoint, Problem> {
            guard url.hasPrefix("http://") else {
                if url.hasPrefix("https://") { return .failure(.httpsUnsupported) }
                return .failure(.notHTTP)
            }
            let rest = url.dropFirst("http://".count)
            let authority = rest.prefix { $0 != "/" }
            let path = rest.dropFirst(authority.count)
            let host: Substring
            var port = 80
            if authority.hasPrefix("[") {
                guard let close = authority.firstIndex(of: "]") else { return .failure(.badAuthority) }
                host = authority[authority.index(after: authority.startIndex)..<close]
                let after = authority[authority.index(after: close)...]
                if !after.isEmpty {
                    guard after.hasPrefix(":"), let p = Int(after.dropFirst()) else { return .failure(.badAuthority) }
                    port = p
                }
            } else if let colon = authority.lastIndex(of: ":") {
                host = authority[..<colon]
                guard let p = Int(authority[authority.index(after: colon)...]) else { return .failure(.badAuthority) }
                port = p
            } else {
                host = authority
            }
            guard !host.isEmpty, !authority.contains("@"), (1...65535).contains(port) else {
                return .failure(.badAuthority)
            }
            return .success(Endpoint(host: String(host), port: port, path: path.isEmpty ? "/" : String(path)))
        }

        public enum Problem: Error, Sendable, CustomStringConvertible {
            case httpsUnsupported
            case notHTTP
            case badAuthority

            public var description: String {
                switch self {
                case .httpsUnsupported:
                    return
                        "https is not supported yet: give the frontend's plain-http address (on the same host or a trusted network), e.g. http://127.0.0.1/zabbix/api_jsonrpc.php"
                case .notHTTP: return "must be an http:// URL, e.g. http://zabbix-web/zabbix/api_jsonrpc.php"
                case .badAuthority: return "host or port is not valid (http://host[:port]/path, no user info)"
                }
            }
        }
    }

    /// An API token. Its text never appears in `description` (logs, `check-config`, `/metrics`).
    public struct Token: Sendable, Hashable, CustomStringConvertible, CustomDebugStringConvertible {
        /// The secret itself: only for the request that carries it.
        let secret: String

        public init(_ secret: String) { self.secret = secret }

        public var description: String { "<redacted>" }
        public var debugDescription: String { "<redacted>" }
    }

    /// Where the token came from, for `check-config` (the place, never the token).
    public enum TokenSource: Sendable, Hashable {
        case file(String)
        case environment(String)
    }

    public var endpoint: Endpoint
    public var token: Token
    public var tokenSource: TokenSource
    /// `timeout`: one request, connection included.
    public var timeout: Duration = .seconds(5)
    /// `batch`: itemids in one `item.get`.
    public var batch = 500
    /// `rate`: requests started per second, at most.
    public var rate = 5
    /// `not_found_ttl`: how long an itemid the API did not know is not asked about again.
    public var notFoundTTL: Duration = .seconds(300)
    /// `breaker_failures`: failed requests in a row that open the circuit breaker.
    public var breakerFailures = 3
    /// `breaker_open`: how long the open breaker asks nothing (then one probe).
    public var breakerOpen: Duration = .seconds(30)

    /// A token and where it was read (`token_file`'s path, `token_env`'s name): compared by
    /// both, so that a rotated token is a change.
    struct TokenFromPlace: Hashable {
        var place: String
        var token: Token
    }

    /// `token_file`, when the token came from a file.
    var tokenFile: TokenFromPlace? {
        get { self.tokenFrom { if case .file(let path) = $0 { path } else { nil } } }
        set { if let newValue { (self.tokenSource, self.token) = (.file(newValue.place), newValue.token) } }
    }

    /// `token_env`, when the token came from the environment.
    var tokenEnvironment: TokenFromPlace? {
        get { self.tokenFrom { if case .environment(let name) = $0 { name } else { nil } } }
        set { if let newValue { (self.tokenSource, self.token) = (.environment(newValue.place), newValue.token) } }
    }

    private func tokenFrom(_ place: (TokenSource) -> String?) -> TokenFromPlace? {
        place(self.tokenSource).map { TokenFromPlace(place: $0, token: self.token) }
    }

    public init(endpoint: Endpoint, token: Token, tokenSource: TokenSource) {
        self.endpoint = endpoint
        self.token = token
        self.tokenSource = tokenSource
    }

    /// The lookup state machine's settings. `maximumQueued`: `catalog.unresolved_max`, since
    /// every itemid asked about has at least one value waiting for it.
    func lookupConfiguration(maximumQueued: Int) -> CatalogAPILookupStateMachine.Configuration {
        var configuration = CatalogAPILookupStateMachine.Configuration()
        configuration.maximumBatch = self.batch
        configuration.requestTimeout = self.timeout
        configuration.minimumInterval = .seconds(1) / self.rate
        configuration.notFoundTTL = self.notFoundTTL
        configuration.breakerFailures = self.breakerFailures
        configuration.breakerOpenFor = self.breakerOpen
        configuration.maximumQueued = max(1, maximumQueued)
        return configuration
    }
}
