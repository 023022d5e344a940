import NIOCore
import Relay
import Tee
import Testing

/// Valid configurations load with their defaults; broken ones fail with a message naming the
/// file, the key path and what is wrong.
struct ConfigLoaderTests {
    @Test func minimalListenerGetsTheDocumentedDefaults() throws {
        let configuration = try ConfigLoader.parse(
            yaml: """
                listeners:
                  - name: agents
                    listen: ["0.0.0.0:10051"]
                    targets: ["zabbix-server.example.net:10051"]
                """, file: "config.yaml")
        let listener = try #require(configuration.listeners.first)
        #expect(listener.name == "agents")
        #expect(listener.listen == [Endpoint(host: "0.0.0.0", port: 10051)])
        #expect(listener.targets == [Endpoint(host: "zabbix-server.example.net", port: 10051)])
        #expect(listener.balance == .failover)
        #expect(listener.connectTimeout == .seconds(5))
        #expect(listener.idleTimeout == .seconds(900))
        #expect(listener.targetCoolDown == .seconds(30))
        #expect(listener.drainTimeout == .seconds(30))
        #expect(listener.maxConnections == 10_000)
        #expect(listener.backlog == 1024)
        #expect(listener.socketBufferSize == nil)
        #expect(configuration.logLevel == .info)
        #expect(configuration.shutdownTimeout == .seconds(30))
    }

    @Test func everyListenerKeyIsRead() throws {
        let configuration = try ConfigLoader.parse(
            yaml: """
                log_level: debug
                shutdown_timeout: 45s
                listeners:
                  - name: proxies
                    listen: ["127.0.0.1:20051", "[::1]:20051"]
                    targets: ["10.1.1.1:10051", "10.1.1.2:10051"]
                    balance: round-robin
                    connect_timeout: 250ms
                    idle_timeout: 15m
                    target_cooldown: 1m
                    drain_timeout: 10s
                    max_connections: 2000
                    backlog: 512
                    socket_buffer: 256KiB
                """, file: "config.yaml")
        let listener = try #require(configuration.listeners.first)
        #expect(configuration.logLevel == .debug)
        #expect(configuration.shutdownTimeout == .seconds(45))
        #expect(listener.listen.count == 2)
        #expect(listener.listen[1] == Endpoint(host: "::1", port: 20051))
        #expect(listener.balance == .roundRobin)
        #expect(listener.connectTimeout == .milliseconds(250))
        #expect(listener.idleTimeout == .minutes(15))
        #expect(listener.targetCoolDown == .minutes(1))
        #expect(listener.drainTimeout == .seconds(10))
        #expect(listener.maxConnections == 2000)
        #expect(listener.backlog == 512)
        #expect(listener.socketBufferSize == 256 * 1024)
    }

    @Test func effectiveConfigurationLoadsBackToTheSameValues() throws {
        let original = try ConfigLoader.parse(
            yaml: """
                listeners:
                  - name: "a b"
                    listen: ["127.0.0.1:1", "[::1]:2"]
                    targets: ["h:3"]
                    balance: random
                    connect_timeout: 1500ms
                    socket_buffer: 65536
                """, file: "config.yaml")
        let reloaded = try ConfigLoader.parse(yaml: original.effectiveYAML, file: "effective")
        #expect(reloaded.listeners == original.listeners)
        #expect(reloaded.logLevel == original.logLevel)
        #expect(reloaded.shutdownTimeout == original.shutdownTimeout)
    }

    /// (what is broken, the YAML, the key path and words the message must contain)
    static let brokenConfigurations: [(String, String, String, String)] = [
        ("unknown top-level key", "listners: []\n", "listners", "unknown key"),
        ("unknown listener key", "listeners:\n  - name: a\n    listen: [\"127.0.0.1:1\"]\n    targets: [\"h:1\"]\n    balance_mode: failover\n", "listeners[0].balance_mode", "unknown key"),
        ("bad listen address", "listeners:\n  - name: a\n    listen: [\"127.0.0.1\"]\n    targets: [\"h:1\"]\n", "listeners[0].listen[0]", "missing ':port'"),
        ("port out of range", "listeners:\n  - name: a\n    listen: [\"127.0.0.1:70000\"]\n    targets: [\"h:1\"]\n", "listeners[0].listen[0]", "invalid port"),
        ("empty targets", "listeners:\n  - name: a\n    listen: [\"127.0.0.1:1\"]\n    targets: []\n", "listeners[0].targets", "at least one target"),
        ("missing targets", "listeners:\n  - name: a\n    listen: [\"127.0.0.1:1\"]\n", "listeners[0]", "missing key 'targets'"),
        ("duplicate listen address", "listeners:\n  - name: a\n    listen: [\"127.0.0.1:1\"]\n    targets: [\"h:1\"]\n  - name: b\n    listen: [\"127.0.0.1:1\"]\n    targets: [\"h:1\"]\n", "listeners[1].listen[0]", "already used by listeners[0].listen[0]"),
        ("duplicate listener name", "listeners:\n  - name: a\n    listen: [\"127.0.0.1:1\"]\n    targets: [\"h:1\"]\n  - name: a\n    listen: [\"127.0.0.1:2\"]\n    targets: [\"h:1\"]\n", "listeners[1]", "already used"),
        ("unknown balance", "listeners:\n  - name: a\n    listen: [\"127.0.0.1:1\"]\n    targets: [\"h:1\"]\n    balance: roundrobin\n", "listeners[0].balance", "expected failover, round-robin, random"),
        ("bad duration", "listeners:\n  - name: a\n    listen: [\"127.0.0.1:1\"]\n    targets: [\"h:1\"]\n    connect_timeout: soon\n", "listeners[0].connect_timeout", "not a duration"),
        ("number out of range", "listeners:\n  - name: a\n    listen: [\"127.0.0.1:1\"]\n    targets: [\"h:1\"]\n    max_connections: 0\n", "listeners[0].max_connections", "out of range"),
        ("wrong type", "listeners:\n  name: a\n", "listeners", "expected a list"),
        ("IPv6 without brackets", "listeners:\n  - name: a\n    listen: [\"::1:10051\"]\n    targets: [\"h:1\"]\n", "listeners[0].listen[0]", "brackets"),
        ("bad log level", "log_level: loud\nlisteners: []\n", "log_level", "unknown log level"),
        ("no listeners", "listeners: []\n", "listeners", "at least one listener"),
    ]

    @Test(arguments: Self.brokenConfigurations)
    func brokenConfigurationNamesTheKeyAndTheProblem(_ broken: (String, String, String, String)) {
        let (what, yaml, keyPath, words) = broken
        do {
            _ = try ConfigLoader.parse(yaml: yaml, file: "broken.yaml")
            Issue.record("\(what): accepted")
        } catch {
            #expect(error.keyPath == keyPath, "\(what)")
            #expect(error.message.contains(words), "\(what): \(error.message)")
            #expect(error.description.hasPrefix("broken.yaml:"), "\(what): \(error.description)")
            #expect(!error.description.contains("\n"), "one line")
            #expect(error.line != nil, "\(what): has a line number")
        }
    }

    @Test func invalidYAMLNamesTheLine() {
        #expect {
            _ = try ConfigLoader.parse(yaml: "listeners:\n  - name: [unclosed\n", file: "broken.yaml")
        } throws: { error in
            guard let error = error as? ConfigError else { return false }
            return error.line != nil && error.message.hasPrefix("not valid YAML")
        }
    }

    @Test func missingFileSaysSo() {
        #expect {
            _ = try ConfigLoader.load(path: "/nonexistent/zabbix-tee.yaml")
        } throws: { error in
            (error as? ConfigError)?.description == "/nonexistent/zabbix-tee.yaml: cannot read the file: No such file or directory"
        }
    }
}
