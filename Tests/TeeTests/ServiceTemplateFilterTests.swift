import Riemann
import Tee
import Testing
import ZabbixProtocol

/// `{key|graphite}` turns any Zabbix key into one Graphite path segment by reversible rules;
/// `{host|reverse}` orders a host's labels as Riemann's `graphite-path-basic` does.
@Suite struct ServiceTemplateFilterTests {
    @Test(arguments: [
        ("system.cpu.load[all,avg1]", "system_cpu_load-5ball-2cavg1-5d"),
        ("vfs.fs.size[/,pfree]", "vfs_fs_size-5b-2f-2cpfree-5d"),
        ("log[\"/var/log/a b.log\",error]", "log-5b-22-2fvar-2flog-2fa-20b_log-22-2cerror-5d"),
        ("proc_info[zabbix-agentd]", "proc-5finfo-5bzabbix-2dagentd-5d"),
        ("agent.ping", "agent_ping"),
        ("wmi.get[root\\cimv2,\"SELECT *\"]", "wmi_get-5broot-5ccimv2-2c-22SELECT-20-2a-22-5d"),
        ("net.if.in[\"Ethernet é\"]", "net_if_in-5b-22Ethernet-20-c3-a9-22-5d"),
        ("", ""),
    ])
    func keysBecomeOneCleanSegmentAndComeBack(key: String, segment: String) {
        #expect(GraphiteName.escaped(key) == segment)
        #expect(
            segment.utf8.allSatisfy {
                $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "-")
                    || ($0 < 0x80 && Character(Unicode.Scalar($0)).isLetter) || ($0 >= 0x30 && $0 <= 0x39)
            }
        )
        #expect(GraphiteName.unescaped(segment) == key)
    }

    @Test func distinctKeysNeverShareASegment() {
        let keys = ["a.b", "a_b", "a-b", "a-5fb", "a_.b", "a._b", "a[b]", "a.5bb", "a b", "a-20b"]
        #expect(Set(keys.map(GraphiteName.escaped)).count == keys.count)
        #expect(GraphiteName.unescaped("a-5") == nil)
        #expect(GraphiteName.unescaped("a-zz") == nil)
    }

    static func service(
        _ template: String,
        key: String = "system.cpu.load[all,avg1]",
        host: String = "web01.example.com"
    ) throws -> String? {
        var configuration = MappingConfiguration()
        configuration.service = ServiceTemplate(template)
        let decoded = DecodedValue(
            value: ItemValue(requestType: .senderData, host: host, key: key, value: "1", clock: 1),
            listener: "l",
            connection: 1,
            seenAtMicros: 0
        )
        return try EventMapper(configuration: configuration).event(for: decoded).get().service
    }

    @Test func templatesApplyFiltersLeftToRight() throws {
        #expect(
            try Self.service("{host|reverse}.{key|graphite}") == "com.example.web01.system_cpu_load-5ball-2cavg1-5d"
        )
        #expect(try Self.service("{host|reverse|graphite}") == "com_example_web01")
        #expect(try Self.service("{host|graphite} {key}") == "web01_example_com system.cpu.load[all,avg1]")
        #expect(try Self.service("{key|reverse}", key: "a.b.c") == "c.b.a")
        #expect(try Self.service("{host|reverse}", host: "localhost") == "localhost")
    }

    @Test func unknownFiltersAndPlaceholdersAreRejectedAtStartWithFileLineAndKey() {
        #expect(ServiceTemplate.unknownPlaceholders(in: "{key|graphite} {host|reverse|graphite}").isEmpty)
        #expect(
            ServiceTemplate.unknownPlaceholders(in: "{key|upper} {hots} {key|}") == ["{key|upper}", "{hots}", "{key|}"]
        )
        let yaml =
            "listeners:\n  - name: a\n    listen: [\"127.0.0.1:1\"]\n    targets: [\"h:1\"]\nmapping:\n  service: \"{key|graphit}\"\n"
        #expect {
            try ConfigLoader.parse(yaml: yaml, file: "c.yaml")
        } throws: { error in
            guard let error = error as? ConfigError else { return false }
            return error.file == "c.yaml" && error.line == 6 && error.keyPath == "mapping.service"
                && error.message.contains("unknown placeholder {key|graphit}")
                && error.message.contains("|graphite, |reverse")
        }
    }
}
