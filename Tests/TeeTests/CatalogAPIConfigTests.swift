import Foundation
import Testing
import ZabbixProtocol

@testable import Tee

/// `catalog.zabbix_api`: read with file:line:key errors, the token from a file or the
/// environment, never shown; changed live on reload.
struct CatalogAPIConfigTests {
    static func tokenFile(_ text: String, mode: Int = 0o600) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("tee-token-\(UUID().uuidString)").path
        try text.write(toFile: path, atomically: false, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: path)
        return path
    }

    static func yaml(_ api: String) -> String {
        """
        listeners:
          - name: agents
            listen: ["127.0.0.1:10051"]
            targets: ["zabbix:10051"]
        catalog:
          zabbix_api:
        \(api.split(separator: "\n").map { "    " + $0 }.joined(separator: "\n"))
        """
    }

    static let secret = "c0ffee0123456789abcdef0123456789abcdef0123456789abcdef0123456789"

    @Test func theTokenIsReadFromAFileAndNeverShownInTheEffectiveConfiguration() throws {
        let path = try Self.tokenFile(Self.secret + "\n")
        defer { try? FileManager.default.removeItem(atPath: path) }
        let configuration = try ConfigLoader.parse(
            yaml: Self.yaml(
                "url: http://127.0.0.1:8080/api_jsonrpc.php\ntoken_file: \(path)\nrate: 2\nbreaker_open: 1m"
            ),
            file: "c.yaml"
        )
        let api = try #require(configuration.decode.zabbixAPI)
        #expect(api.token.secret == Self.secret, "white space around it ignored")
        #expect(api.endpoint == .init(host: "127.0.0.1", port: 8080, path: "/api_jsonrpc.php"))
        #expect(api.rate == 2)
        #expect(api.breakerOpen == .seconds(60))
        #expect(api.timeout == .seconds(5), "defaults")
        #expect(api.batch == 500)
        let effective = configuration.effectiveYAML
        #expect(!effective.contains(Self.secret))
        #expect(!"\(api)".contains(Self.secret), "nor when the configuration is printed whole")
        #expect(effective.contains("token_file: \"\(path)\""))
        let reloaded = try ConfigLoader.parse(yaml: effective, file: "effective")
        #expect(reloaded.decode.zabbixAPI == api, "check-config output loads back to the same")
    }

    @Test func theTokenMayComeFromTheEnvironment() throws {
        // HOME, which every test process has: setting a variable here would race with other
        // tests reading the environment in parallel.
        let home = try #require(ProcessInfo.processInfo.environment["HOME"])
        let configuration = try ConfigLoader.parse(
            yaml: Self.yaml("url: http://zabbix-web/zabbix/api_jsonrpc.php\ntoken_env: HOME"),
            file: "c.yaml"
        )
        let api = try #require(configuration.decode.zabbixAPI)
        #expect(api.token.secret == home)
        #expect(api.endpoint == .init(host: "zabbix-web", port: 80, path: "/zabbix/api_jsonrpc.php"))
        #expect(
            configuration.effectiveYAML.contains("token_env: \"HOME\""),
            "the variable's name is shown, not its value"
        )
    }

    @Test func aBrokenAPISectionNamesTheKeyAndNeverTheToken() throws {
        let open = try Self.tokenFile(Self.secret, mode: 0o644)
        let empty = try Self.tokenFile("\n")
        let two = try Self.tokenFile("first\r\nX-Injected: yes")
        let valid = try Self.tokenFile(Self.secret)
        defer { for path in [open, empty, two, valid] { try? FileManager.default.removeItem(atPath: path) } }
        let cases: [(String, String, String)] = [
            (
                "url: https://zabbix/api_jsonrpc.php\ntoken_env: HOME", "catalog.zabbix_api.url",
                "https is not supported"
            ),
            ("url: ftp://zabbix/\ntoken_env: HOME", "catalog.zabbix_api.url", "http://"),
            ("url: http://zabbix:0/\ntoken_env: HOME", "catalog.zabbix_api.url", "port"),
            ("token_env: HOME", "catalog.zabbix_api", "missing key 'url'"),
            ("url: http://zabbix/", "catalog.zabbix_api", "token_file"),
            ("url: http://zabbix/\ntoken_env: HOME\ntoken_file: \(valid)", "catalog.zabbix_api.token_env", "not both"),
            ("url: http://zabbix/\ntoken_file: \(open)", "catalog.zabbix_api.token_file", "readable by every user"),
            ("url: http://zabbix/\ntoken_file: \(empty)", "catalog.zabbix_api.token_file", "is empty"),
            ("url: http://zabbix/\ntoken_file: \(two)", "catalog.zabbix_api.token_file", "more than one token"),
            ("url: http://zabbix/\ntoken_file: /nonexistent/token", "catalog.zabbix_api.token_file", "cannot read"),
            ("url: http://zabbix/\ntoken_env: TEE_TEST_UNSET_VARIABLE", "catalog.zabbix_api.token_env", "not set"),
            ("url: http://zabbix/\ntoken_env: HOME\nrate: 0", "catalog.zabbix_api.rate", "out of range"),
        ]
        for (api, keyPath, words) in cases {
            do {
                _ = try ConfigLoader.parse(yaml: Self.yaml(api), file: "c.yaml")
                Issue.record("accepted: \(api)")
            } catch {
                #expect(error.keyPath == keyPath, "\(api)")
                #expect(error.message.contains(words), "\(api): \(error.message)")
                #expect(!error.description.contains(Self.secret))
            }
        }
    }

    @Test func aChangedAPISectionOrTokenIsAppliedLiveOnReload() throws {
        let path = try Self.tokenFile("old-token")
        defer { try? FileManager.default.removeItem(atPath: path) }
        let text = Self.yaml("url: http://127.0.0.1:8080/api_jsonrpc.php\ntoken_file: \(path)")
        let running = try ConfigLoader.parse(yaml: text, file: "c.yaml")
        try "new-token".write(toFile: path, atomically: false, encoding: .utf8)
        let rotated = try ConfigLoader.parse(yaml: text, file: "c.yaml")
        let plan = ConfigurationReloadPlan(running: running, new: rotated, decoderRunning: true)
        #expect(plan.otherChanged == ["catalog.zabbix_api.token_file"], "a rotated token: the same path, yet a change")
        #expect(plan.restartRequired.isEmpty)
        #expect(plan.applied.decode.zabbixAPI?.token.secret == "new-token")
        let moved = try ConfigLoader.parse(yaml: text.replacingOccurrences(of: ":8080", with: ":8081"), file: "c.yaml")
        #expect(
            ConfigurationReloadPlan(running: rotated, new: moved, decoderRunning: true).otherChanged == [
                "catalog.zabbix_api.url"
            ]
        )
        let removed = try ConfigLoader.parse(
            yaml: String(text[..<text.range(of: "catalog:")!.lowerBound]),
            file: "c.yaml"
        )
        let off = ConfigurationReloadPlan(running: running, new: removed, decoderRunning: true)
        #expect(
            off.otherChanged == ["catalog.zabbix_api"] && off.applied.decode.zabbixAPI == nil,
            "removing the section stops the lookups"
        )
        let unchanged = ConfigurationReloadPlan(running: running, new: running, decoderRunning: true)
        #expect(unchanged.changesNothing)
    }
}

/// What the catalog does with the API's answers: values waiting in any namespace are released,
/// named; values of itemids the API does not know stop waiting.
struct CatalogAPIStoreTests {
    static func waiting(
        _ itemid: UInt64,
        host: String? = "web-1",
        type: ItemValue.RequestType = .agentData
    ) -> DecodedValue {
        DecodedValue(
            value: ItemValue(
                requestType: type,
                host: host,
                itemid: itemid,
                proxy: type == .proxyData ? "proxy-1" : nil,
                value: "1"
            ),
            listener: "agents",
            connection: 1,
            seenAtMicros: 0,
            peerHost: nil,
            zabbixVersion: "7.0.9"
        )
    }

    @Test func anAnswerReleasesTheValuesItNamesWhereverTheyWaitAndNotFoundEndsTheWaitOfOthers() throws {
        let store = ItemCatalogStore(maximumEntries: 100, maximumPendingValues: 10, pendingTimeout: .seconds(30))
        let values = [Self.waiting(1), Self.waiting(2, host: nil, type: .proxyData), Self.waiting(3), Self.waiting(4)]
        let (resolved, expired, waiting) = store.resolve(values, listener: "agents", now: .now)
        #expect(resolved.isEmpty && expired.isEmpty)
        #expect(waiting == [1, 2, 3, 4])
        let (released, refused) = store.learn(apiEntries: [
            1: ItemCatalogEntry(host: "web-1", key: "agent.ping", valueType: 3),
            2: ItemCatalogEntry(host: "db-1", key: "pgsql.ping", valueType: 3),
            3: ItemCatalogEntry(host: "other-host", key: "agent.ping", valueType: 3),
        ])
        #expect(refused == 0)
        #expect(
            released.map(\.value.key) == ["agent.ping", "pgsql.ping"].map(Optional.some)
                || released.map(\.value.key) == ["pgsql.ping", "agent.ping"].map(Optional.some)
        )
        #expect(released.first { $0.value.itemid == 2 }?.value.host == "db-1", "a proxy value takes the item's host")
        #expect(released.allSatisfy { $0.valueType == 3 })
        #expect(store.pendingCount == 2, "3 names another host: still waiting, as 4")
        #expect(store.expire(itemids: [4]).map(\.value.itemid) == [4])
        #expect(store.pendingCount == 1)
        let again = store.resolve([Self.waiting(1)], listener: "agents", now: .now)
        #expect(again.resolved.first?.value.key == "agent.ping", "known from then on, without waiting")
        #expect(again.waiting.isEmpty)
    }
}
