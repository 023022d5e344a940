#if canImport(Glibc)
import Glibc
#endif

/// The reader of `catalog.zabbix_api` (see ``CatalogAPIConfiguration``).
extension ConfigLoader {
    static let zabbixAPIKeys = [
        "url", "token_file", "token_env", "timeout", "batch", "rate", "not_found_ttl", "breaker_failures", "breaker_open",
    ]

    static func zabbixAPISection(_ node: ConfigNode) throws(ConfigError) -> CatalogAPIConfiguration {
        let keys = try node.mapping(allowed: Self.zabbixAPIKeys)
        guard let urlNode = keys["url"] else {
            throw node.error("missing key 'url' (the frontend's API, e.g. http://127.0.0.1/zabbix/api_jsonrpc.php)")
        }
        let endpoint: CatalogAPIConfiguration.Endpoint
        switch CatalogAPIConfiguration.Endpoint.parse(try urlNode.nonEmptyString()) {
        case .success(let parsed): endpoint = parsed
        case .failure(let problem): throw urlNode.error(problem.description)
        }
        let (token, source) = try Self.zabbixAPIToken(node, file: keys["token_file"], environment: keys["token_env"])
        var api = CatalogAPIConfiguration(endpoint: endpoint, token: token, tokenSource: source)
        if let n = keys["timeout"] { api.timeout = try n.duration(atLeast: .milliseconds(100)).duration }
        if let n = keys["batch"] { api.batch = try n.int(in: 1...10_000) }
        if let n = keys["rate"] { api.rate = try n.int(in: 1...1000) }
        if let n = keys["not_found_ttl"] { api.notFoundTTL = try n.duration().duration }
        if let n = keys["breaker_failures"] { api.breakerFailures = try n.int(in: 1...1000) }
        if let n = keys["breaker_open"] { api.breakerOpen = try n.duration(atLeast: .milliseconds(100)).duration }
        return api
    }

    /// The token, from exactly one of `token_file` (a file no other user may read; surrounding
    /// white space ignored) and `token_env` (an environment variable's name). Its text never
    /// appears in an error.
    private static func zabbixAPIToken(_ node: ConfigNode, file: ConfigNode?, environment: ConfigNode?) throws(ConfigError)
        -> (CatalogAPIConfiguration.Token, CatalogAPIConfiguration.TokenSource)
    {
        switch (file, environment) {
        case (nil, nil):
            throw node.error("missing key 'token_file' or 'token_env' (an API token of a user who may read the monitored hosts)")
        case (.some, .some(let environment)):
            throw environment.error("give either token_file or token_env, not both")
        case (.some(let file), nil):
            let path = try file.nonEmptyString()
            var status = stat()
            if stat(path, &status) == 0, status.st_mode & S_IROTH != 0 {
                throw file.error("\(path) is readable by every user; restrict it (chmod o-r) so the token stays secret")
            }
            switch FileReading.readAll(path: path, limit: 4096) {
            case .success(let bytes):
                let text = String(decoding: bytes, as: UTF8.self).trimmingWhitespace()
                guard !text.isEmpty else { throw file.error("\(path) is empty") }
                guard Self.isTokenText(text) else { throw file.error("\(path) holds more than one token (white space or control characters inside)") }
                return (.init(text), .file(path))
            case .failure(let failure):
                throw file.error("cannot read \(path): \(failure)")
            }
        case (nil, .some(let environment)):
            let name = try environment.nonEmptyString()
            guard let value = getenv(name).map({ String(cString: $0) })?.trimmingWhitespace(), !value.isEmpty else {
                throw environment.error("environment variable \(name) is not set or empty")
            }
            guard Self.isTokenText(value) else {
                throw environment.error("environment variable \(name) holds white space or control characters inside")
            }
            return (.init(value), .environment(name))
        }
    }

    /// A token goes into an HTTP header and a JSON string as is: visible ASCII only.
    private static func isTokenText(_ text: String) -> Bool {
        text.utf8.allSatisfy { (0x21...0x7E).contains($0) }
    }
}

extension String {
    fileprivate func trimmingWhitespace() -> String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\n" || $0 == "\r" || $0 == "\t" }
        return String(self.drop(while: isSpace).reversed().drop(while: isSpace).reversed())
    }
}
