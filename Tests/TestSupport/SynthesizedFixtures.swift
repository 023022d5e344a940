import Foundation

/// Fixtures for Zabbix versions no Debian package ships (8.0), written from Zabbix's source and
/// documentation instead of recorded: each is one connection's frames, built here the way the
/// real programs frame them (agent 2 and proxies compress what they send, replies mirror the
/// request's flags, `history.push` replies are never compressed), and the items it must decode
/// to — which follow from the bytes written here, not from zabbix-tee's decoder.
///
/// `Fixtures/<name>/` holds what ``write(to:)`` produced; `FixtureSynthesisTests` checks the
/// files still match this source and rewrites them with `ZABBIX_TEE_SYNTHESIZE=1`. Their
/// `meta.json` says `"synthesized": true` and names the sources in `synthesized_from`
/// (see `shared/docs/zabbix-7.2-to-8.0.md` for what those sources say and what stayed unconfirmed).
public enum SynthesizedFixtures {
    /// One synthesized connection.
    public struct Fixture: Sendable {
        public var name: String
        public var description: String
        public var program: String
        public var version: String
        public var peer: String
        public var peerVersion: String
        public var catalog: String?
        public var client: [[UInt8]]
        public var server: [[UInt8]]
        public var items: [FixtureItem]
        public var itemsSource: String
        public var valuesHaveClock: Bool
        public var notes: [String]
        public var sources: [String]

        public var clientBytes: [UInt8] { self.client.flatMap { $0 } }
        public var serverBytes: [UInt8] { self.server.flatMap { $0 } }

        /// The `meta.json` of this fixture.
        public var meta: FixtureMeta {
            let clientFrames = FixtureFrame.frames(self.clientBytes)
            let serverFrames = FixtureFrame.frames(self.serverBytes)
            func flags(_ frames: [FixtureFrame]) -> [String] {
                var seen: [String] = []
                for frame in frames {
                    let text = "0x" + (frame.flags < 16 ? "0" : "") + String(frame.flags, radix: 16)
                    if !seen.contains(text) { seen.append(text) }
                }
                return seen
            }
            // Zabbix never pipelines: request and reply alternate.
            var kinds: [String] = []
            for index in 0..<max(clientFrames.count, serverFrames.count) {
                if index < clientFrames.count { kinds.append(clientFrames[index].kind(fromClient: true)) }
                if index < serverFrames.count { kinds.append(serverFrames[index].kind(fromClient: false)) }
            }
            return FixtureMeta(
                name: self.name,
                description: self.description,
                program: self.program,
                programVersion: "\(self.program) (Zabbix) \(self.version) — synthesized, no program ran",
                peer: self.peer,
                peerVersion: "\(self.peer) (Zabbix) \(self.peerVersion) — synthesized",
                captured: SynthesizedFixtures.written,
                listener: "fixture",
                clientBytes: self.clientBytes.count,
                serverBytes: self.serverBytes.count,
                clientFlags: flags(clientFrames),
                serverFlags: flags(serverFrames),
                clientFrames: clientFrames.count,
                serverFrames: serverFrames.count,
                requestTypes: kinds,
                tls: false,
                catalog: self.catalog,
                deterministic: false,
                deterministicNote: "synthesized from source and documentation: no program produced these bytes",
                itemsSource: self.itemsSource,
                valuesHaveClock: self.valuesHaveClock,
                items: self.items,
                notes: self.notes,
                recording: nil,
                version: self.version,
                synthesized: true,
                synthesizedFrom: self.sources
            )
        }
    }

    /// When the fixtures were written (fixed, so that rewriting them changes nothing).
    public static let written = "2026-12-08T00:00:00Z"

    static let docs = "shared/docs/zabbix-7.2-to-8.0.md"
    static let proxyName = "synth-proxy80"
    static let host = "synth-web80"
    static let proxySession = "5f1c2a9e0b7d4e3f8a6c1b2d3e4f5a6b"
    static let clock: Int64 = 1_800_000_000

    /// Every synthesized fixture, catalogs before the fixtures that need them.
    public static let all: [Fixture] = [
        proxyConfig, proxyData, agent2HeartbeatRedirect, agentdDataRedirect, passiveJSONNumber, historyPush,
        unknownRequest,
    ]

    /// An 8.0 active proxy's `proxy config` and the server's full sync: columns in an order no
    /// earlier version used, columns 8.0 added (telemetry-query items), value type 6 (JSON) and
    /// a value type from after 8.0, a new item type, the 7.0 `proxy_group` object.
    static let proxyConfig = Fixture(
        name: "synth80-proxy-config",
        description:
            "zabbix_proxy 8.0 (active) asks the 8.0 server for its configuration; full sync with value type 6 (JSON) and new item columns",
        program: "zabbix_proxy",
        version: "8.0.0",
        peer: "zabbix_server",
        peerVersion: "8.0.0",
        catalog: nil,
        client: [
            ZabbixFrames.compressed(
                #"{"request":"proxy config","host":"\#(proxyName)","version":"8.0.0","session":"\#(proxySession)","config_revision":0}"#
            )
        ],
        server: [
            ZabbixFrames.compressed(
                #"""
                {"full_sync":1,"data":{"hosts":{"fields":["hostid","host","status","name","monitored_by","proxy_groupid","tls_connect","tls_accept"],"data":[[10501,"\#(host)",0,"Synth web 8.0",2,1,1,1]]},"items":{"fields":["key_","value_type","itemid","hostid","type","status","delay","history","time_shift","lookback_limit","granularity","query"],"data":[["app.state",6,80001,10501,24,0,"1m","31d","","","",""],["app.count",3,80002,10501,2,0,"0","31d","","","",""],["app.ratio",0,80003,10501,2,0,"0","31d","","","",""],["app.name",1,80004,10501,2,0,"0","31d","","","",""],["app.future",9,80005,10501,25,0,"0","31d","","","",""]]}},"config_revision":42,"proxy_group":{"proxy_groupid":1,"failover_delay":"1m","min_online":1,"revision":3},"hostmap_revision":3}
                """#
            )
        ],
        items: [],
        itemsSource: "none: the configuration teaches the catalog (itemid -> host, key, value type)",
        valuesHaveClock: false,
        notes: [
            "column order shuffled on purpose: tables are read by the names in `fields`, never by position",
            "item type 24 (telemetry query, 8.0) and 25 and value type 9 are stand-ins for codes not confirmed in the source: unknown codes must be kept, not refused",
        ],
        sources: [
            "\(docs) §6.2 (proxy config: value_type 6, new item types, read tables by field name)",
            "\(docs) §7 (ITEM_VALUE_TYPE_JSON = 6: history_elastic.c, history_option.c, history_clickhouse.c; 8.0 API changes)",
            "zabbix/zabbix include/zbxjson.h (2024 rev): proxy_group, hostmap_revision tags",
            "https://www.zabbix.com/documentation/8.0/zh/manual/installation/upgrade_notes (JSON data type)",
        ]
    )

    /// The same proxy's `history data`: a JSON document as an escaped string, a JSON value that
    /// reads as a number, gaps in the row ids, a "no value" row, and the 6.4+ `host data`.
    static let proxyData = Fixture(
        name: "synth80-proxy-data",
        description:
            "zabbix_proxy 8.0 (active) sends history with JSON-type values and id gaps; the 8.0 server accepts",
        program: "zabbix_proxy",
        version: "8.0.0",
        peer: "zabbix_server",
        peerVersion: "8.0.0",
        catalog: "synth80-proxy-config",
        client: [
            ZabbixFrames.compressed(
                #"""
                {"request":"proxy data","host":"\#(proxyName)","session":"\#(proxySession)","version":"8.0.0","host data":[{"hostid":10501,"active_status":1}],"history data":[{"id":3,"itemid":80001,"clock":\#(clock),"ns":100,"value":"{\"state\":\"ok\",\"load\":0.5}"},{"id":7,"itemid":80001,"clock":\#(clock + 1),"ns":200,"value":"42"},{"id":8,"itemid":80002,"clock":\#(clock + 1),"ns":300,"value":"17"},{"id":12,"itemid":80003,"clock":\#(clock + 2),"ns":400,"value":"0.25"},{"id":13,"itemid":80004,"clock":\#(clock + 2),"ns":500,"value":"Debian 13"},{"id":20,"itemid":80005,"clock":\#(clock + 3),"ns":600,"value":"5"},{"id":21,"itemid":80002,"clock":\#(clock + 4),"ns":700}],"clock":\#(clock + 5),"ns":800}
                """#
            )
        ],
        server: [ZabbixFrames.compressed(#"{"upload":"enabled","response":"success"}"#)],
        items: [
            FixtureItem(
                host: host,
                key: "app.state",
                itemid: 80001,
                value: #"{"state":"ok","load":0.5}"#,
                clock: clock,
                ns: 100
            ),
            FixtureItem(host: host, key: "app.state", itemid: 80001, value: "42", clock: clock + 1, ns: 200),
            FixtureItem(host: host, key: "app.count", itemid: 80002, value: "17", clock: clock + 1, ns: 300),
            FixtureItem(host: host, key: "app.ratio", itemid: 80003, value: "0.25", clock: clock + 2, ns: 400),
            FixtureItem(host: host, key: "app.name", itemid: 80004, value: "Debian 13", clock: clock + 2, ns: 500),
            FixtureItem(host: host, key: "app.future", itemid: 80005, value: "5", clock: clock + 3, ns: 600),
        ],
        itemsSource:
            "the history rows written here (every row with a value; the server's bare success accepts them all), host and keys from synth80-proxy-config",
        valuesHaveClock: true,
        notes: [
            "ids 3, 7, 8, 12, 13, 20, 21: 7.4+ proxies skip rows of unknown or disabled items, the ids keep counting; gaps are not loss",
            "row 21 has no value (a \"no value\" bookkeeping row): not an item value",
            "items 80001 (app.state) are value type 6: both values, \"42\" included, must stay text (description), never a metric",
        ],
        sources: [
            "\(docs) §6.1 (pb_history_export: row keys, value always a JSON string, proxy-side filtering and id gaps)",
            "\(docs) §7 (JSON values on the wire are ordinary strings)",
            "zabbix/zabbix zbx_availability_serialize_json_hostdata (host data: hostid, active_status)",
        ]
    )

    /// agent 2 8.0 sends its heartbeat (long version, variant); a proxy group redirects it.
    static let agent2HeartbeatRedirect = Fixture(
        name: "synth80-agent2-heartbeat-redirect",
        description: "zabbix_agent2 8.0 heartbeat answered with a proxy-group redirect",
        program: "zabbix_agent2",
        version: "8.0.3",
        peer: "zabbix_proxy",
        peerVersion: "8.0.3",
        catalog: nil,
        client: [
            ZabbixFrames.compressed(
                #"{"request":"active check heartbeat","host":"\#(host)","heartbeat_freq":60,"version":"8.0.3","variant":2}"#
            )
        ],
        server: [
            ZabbixFrames.compressed(#"{"response":"failed","redirect":{"revision":5,"address":"192.0.2.22:10051"}}"#)
        ],
        items: [],
        itemsSource: "none: a heartbeat carries no values",
        valuesHaveClock: false,
        notes: [
            "a decoder that assumes \"heartbeat => no reply\" must still accept a reply, here a redirect (counted per listener and address)"
        ],
        sources: [
            "\(docs) §4.2 (agent 2 heartbeatMessage: request, host, heartbeat_freq, version (long), variant; ExchangeWithRedirect)",
            "\(docs) §3 (zbxcomms.h redirect constants), zabbix-protocol.md §2.2 (redirect object)",
        ]
    )

    /// agentd 8.0.0rc1's itemid-only `agent data`, redirected: nothing of it may be emitted.
    static let agentdDataRedirect = Fixture(
        name: "synth80-agentd-agent-data-redirect",
        description:
            "zabbix_agentd 8.0.0rc1 agent data answered with a proxy-group redirect: no value is stored, none emitted",
        program: "zabbix_agentd",
        version: "8.0.0rc1",
        peer: "zabbix_proxy",
        peerVersion: "8.0.0",
        catalog: nil,
        client: [
            ZabbixFrames.plain(
                #"""
                {"request":"agent data","session":"0d1e2f3a4b5c6d7e8f90a1b2c3d4e5f6","version":"8.0.0rc1","variant":1,"host":"\#(host)","data":[{"itemid":80101,"value":"1","id":1,"clock":\#(clock),"ns":1},{"itemid":80102,"value":"0.75","id":2,"clock":\#(clock),"ns":2}],"clock":\#(clock + 1),"ns":3}
                """#
            )
        ],
        server: [
            ZabbixFrames.plain(#"{"response":"failed","redirect":{"revision":6,"address":"[2001:db8::22]:10051"}}"#)
        ],
        items: [],
        itemsSource: "none: the redirect refuses the batch (the agent sends it again to the proxy it is redirected to)",
        valuesHaveClock: true,
        notes: ["pre-release version string `8.0.0rc1` (agentd sends ZABBIX_VERSION with the RC suffix)"],
        sources: [
            "\(docs) §4.1 (agentd send_buffer: session, version, variant 1, host, itemid rows; zbx_comms_exchange_with_redirect)",
            "zabbix-protocol.md §2.3 (reply may carry a redirect block)",
        ]
    )

    /// zabbix_get 8.0 → agent 2 8.0: JSON passive check answered with a JSON number.
    static let passiveJSONNumber = Fixture(
        name: "synth80-get-passive-json-number",
        description: "zabbix_get 8.0 JSON passive check; agent 2 8.0 answers the value as a JSON number",
        program: "zabbix_get",
        version: "8.0.3",
        peer: "zabbix_agent2",
        peerVersion: "8.0.3",
        catalog: nil,
        client: [ZabbixFrames.plain(#"{"request":"passive checks","data":[{"key":"agent.ping","timeout":3}]}"#)],
        server: [ZabbixFrames.plain(#"{"version":"8.0.3","variant":2,"data":[{"value":1}]}"#)],
        items: [FixtureItem(host: nil, key: "agent.ping", value: "1")],
        itemsSource: "the reply written here: the number 1 read as text, as the server reads any scalar",
        valuesHaveClock: false,
        notes: ["the 7.4 and 8.0 documentation's step-by-step example answers `\"value\":1`"],
        sources: [
            "\(docs) §5 (passive checks unchanged; value may be a JSON number or null)",
            "https://www.zabbix.com/documentation/8.0/de/manual/concepts/agent/active_passive_protocol",
        ]
    )

    /// The 8.0 frontend's `history.push`: the reply accepts two rows and refuses one.
    static let historyPush = Fixture(
        name: "synth80-history-push",
        description: "frontend 8.0 history.push to the 8.0 server; two rows stored, one refused",
        program: "zabbix frontend (api_jsonrpc.php)",
        version: "8.0.0",
        peer: "zabbix_server",
        peerVersion: "8.0.0",
        catalog: nil,
        client: [
            ZabbixFrames.plain(
                #"""
                {"request":"history.push","sid":"9a8b7c6d5e4f30211203948576a5b4c3","clientip":"192.0.2.50","data":[{"host":"\#(host)","key":"trap.count","value":"21","clock":\#(clock),"ns":10},{"host":"\#(host)","key":"trap.json","value":"{\"a\":[1,2]}","clock":\#(clock),"ns":20},{"itemid":80002,"value":"5","clock":\#(clock),"ns":30}]}
                """#
            )
        ],
        server: [
            ZabbixFrames.plain(
                #"{"response":"success","data":[{"itemid":80201},{"itemid":80202},{"itemid":80002,"error":"Duplicate timestamp found."}]}"#
            )
        ],
        items: [
            FixtureItem(host: host, key: "trap.count", value: "21", clock: clock, ns: 10),
            FixtureItem(host: host, key: "trap.json", value: #"{"a":[1,2]}"#, clock: clock, ns: 20),
        ],
        itemsSource: "the request rows the reply's data[] accepts (row 3 is refused: Duplicate timestamp found.)",
        valuesHaveClock: true,
        notes: [
            "the sid (a frontend session id or API token) is a credential in clear: it must appear in no log, event or decode output"
        ],
        sources: [
            "\(docs) §5 (trapper_history_push.c: request sid, clientip, data rows; reply data[] per row; never compressed)",
            "zabbix-7.x-and-ecosystem.md §1 (history.push: frontend -> server on 10051)",
        ]
    )

    /// A trapper request this decoder does not know (8.0's device-management requests are of
    /// unconfirmed names; this one stands for them): relayed, counted as `unknown`, no error.
    static let unknownRequest = Fixture(
        name: "synth80-unknown-request",
        description: "frontend 8.0 sends a trapper request of a name unknown to the decoder; the server answers",
        program: "zabbix frontend (api_jsonrpc.php)",
        version: "8.0.0",
        peer: "zabbix_server",
        peerVersion: "8.0.0",
        catalog: nil,
        client: [
            ZabbixFrames.plain(
                #"{"request":"device.offboard","sid":"00112233445566778899aabbccddeeff","deviceid":"synth-device-1"}"#
            )
        ],
        server: [ZabbixFrames.plain(#"{"response":"success"}"#)],
        items: [],
        itemsSource: "none: not a value-carrying request",
        valuesHaveClock: false,
        notes: [
            "`device.offboard` stands in for the 2026 trapper device-management requests, whose request strings were not confirmed"
        ],
        sources: [
            "\(docs) §8 (trapper_device_management.h, trapper_push_test.c) and §9 item 9 (pass unknown requests through)"
        ]
    )

    /// Writes every fixture's `client.bin`, `server.bin` and `meta.json` under `root`.
    public static func write(to root: String) throws {
        for fixture in self.all {
            let directory = "\(root)/\(fixture.name)"
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            try Data(fixture.clientBytes).write(to: URL(fileURLWithPath: "\(directory)/client.bin"))
            try Data(fixture.serverBytes).write(to: URL(fileURLWithPath: "\(directory)/server.bin"))
            try (FixtureMeta.encoder.encode(fixture.meta) + Data("\n".utf8)).write(
                to: URL(fileURLWithPath: "\(directory)/meta.json")
            )
        }
    }
}
