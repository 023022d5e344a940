#if canImport(Glibc)
import Glibc
#endif

/// `catalog.zabbix_api:` (see ``CatalogAPIConfiguration``). Every key is live: a reload replaces
/// the API client, and a token file is read again, so a rotated token is a change even where
/// the file's path stays.
extension CatalogAPIConfiguration {
    static var table: ConfigTable<CatalogAPIConfiguration> {
        ConfigTable(
            [
                .custom(
                    "url",
                    \.endpoint,
                    .live,
                    "the frontend's API, plain http://host[:port]/path/api_jsonrpc.php",
                    missing: "missing key 'url' (the frontend's API, e.g. http://127.0.0.1/zabbix/api_jsonrpc.php)",
                    parse: { (node) throws(ConfigError) in
                        switch Endpoint.parse(try node.nonEmptyString()) {
                        case .success(let endpoint): return endpoint
                        case .failure(let problem): throw node.error(problem.description)
                        }
                    },
                    text: { .inline(ConfigText.quoted($0.description)) },
                    same: ==
                ),
                .custom(
                    "token_file",
                    \.tokenFile,
                    .live,
                    "file holding the API token (not readable by every user); read again on reload",
                    parse: Self.readTokenFile,
                    text: { $0.map { .inline(ConfigText.quoted($0.place)) } },
                    same: ==
                ),
                .custom(
                    "token_env",
                    \.tokenEnvironment,
                    .live,
                    "environment variable holding the API token (instead of token_file)",
                    parse: Self.readTokenEnvironment,
                    text: { $0.map { .inline(ConfigText.quoted($0.place)) } },
                    same: ==
                ),
                .duration(
                    "timeout",
                    \.timeout,
                    atLeast: .milliseconds(100),
                    .live,
                    "one API request, connection included"
                ),
                .int("batch", \.batch, in: 1...10_000, .live, "itemids in one item.get"),
                .int("rate", \.rate, in: 1...1000, .live, "API requests started per second, at most"),
                .duration(
                    "not_found_ttl",
                    \.notFoundTTL,
                    .live,
                    "how long an itemid the API did not know is not asked about again"
                ),
                .int(
                    "breaker_failures",
                    \.breakerFailures,
                    in: 1...1000,
                    .live,
                    "failed requests in a row that open the circuit breaker"
                ),
                .duration(
                    "breaker_open",
                    \.breakerOpen,
                    atLeast: .milliseconds(100),
                    .live,
                    "how long the open breaker asks nothing"
                ),
            ],
            validate: { (node, api, _) throws(ConfigError) in
                switch (node["token_file"], node["token_env"]) {
                case (nil, nil):
                    throw node.error(
                        "missing key 'token_file' or 'token_env' (an API token of a user who may read the monitored hosts)"
                    )
                case (.some, .some(let environment)):
                    throw environment.error("give either token_file or token_env, not both")
                default:
                    break
                }
            }
        )
    }

    /// The section before its keys are read: `url` is required and one token key is (checked
    /// by the table), so these placeholders never survive a successful read.
    static func unread() -> CatalogAPIConfiguration {
        CatalogAPIConfiguration(
            endpoint: Endpoint(host: "", port: 80, path: "/"),
            token: Token(""),
            tokenSource: .environment("")
        )
    }

    /// The token from a file no other user may read (white space around it ignored). Its text
    /// never appears in an error.
    private static func readTokenFile(_ node: ConfigNode) throws(ConfigError) -> TokenFromPlace {
        let path = try node.nonEmptyString()
        var status = stat()
        if stat(path, &status) == 0, status.st_mode & S_IROTH != 0 {
            throw node.error("\(path) is readable by every user; restrict it (chmod o-r) so the token stays secret")
        }
        switch FileReading.readAll(path: path, limit: 4096) {
        case .success(let bytes):
            let text = Self.trimmed(String(decoding: bytes, as: UTF8.self))
            guard !text.isEmpty else { throw node.error("\(path) is empty") }
            guard Self.isTokenText(text) else {
                throw node.error("\(path) holds more than one token (white space or control characters inside)")
            }
            return TokenFromPlace(place: path, token: Token(text))
        case .failure(let failure):
            throw node.error("cannot read \(path): \(failure)")
        }
    }

    private static func readTokenEnvironment(_ node: ConfigNode) throws(ConfigError) -> TokenFromPlace {
        let name = try node.nonEmptyString()
        guard let value = getenv(name).map({ Self.trimmed(String(cString: $0)) }), !value.isEmpty else {
            throw node.error("environment variable \(name) is not set or empty")
        }
        guard Self.isTokenText(value) else {
            throw node.error("environment variable \(name) holds white space or control characters inside")
        }
        return TokenFromPlace(place: name, token: Token(value))
    }

    /// A token goes into an HTTP header and a JSON string as is: visible ASCII only.
    private static func isTokenText(_ text: String) -> Bool {
        text.utf8.allSatisfy { (0x21...0x7E).contains($0) }
    }

    private static func trimmed(_ text: String) -> String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\n" || $0 == "\r" || $0 == "\t" }
        return String(text.drop(while: isSpace).reversed().drop(while: isSpace).reversed())
    }
}
