import Riemann
import Tee
import Testing
import ZabbixProtocol

/// Item values become the Riemann events a Riemann user expects; text never becomes a metric.
struct EventMapperTests {
    static func decoded(
        _ value: String,
        key: String = "system.cpu.load[all,avg1]",
        host: String? = "web01",
        state: ItemValue.State = .normal,
        clock: Int64? = 1_700_000_000,
        ns: Int64? = 123_456_789,
        valueType: Int64? = nil,
        requestType: ItemValue.RequestType = .agentData,
        itemid: UInt64? = nil
    ) -> DecodedValue {
        DecodedValue(
            value: ItemValue(
                requestType: requestType,
                host: host,
                key: key,
                itemid: itemid,
                value: value,
                state: state,
                clock: clock,
                ns: ns
            ),
            listener: "agents",
            connection: 1,
            valueType: valueType,
            seenAtMicros: 1_800_000_000_000_000
        )
    }

    func event(
        _ decoded: DecodedValue,
        _ configure: (inout MappingConfiguration) -> Void = { _ in }
    ) throws -> RiemannEvent {
        var configuration = MappingConfiguration()
        configure(&configuration)
        return try EventMapper(configuration: configuration).event(for: decoded).get()
    }

    @Test func integerValueBecomesSint64Metric() throws {
        let event = try self.event(Self.decoded("42"))
        #expect(event.metric == .sint64(42))
        #expect(event.description == nil)
        #expect(event.host == "web01")
        #expect(event.service == "system.cpu.load[all,avg1]")
        #expect(event.state == "ok")
    }

    @Test func decimalValueBecomesDoubleMetric() throws {
        #expect(try self.event(Self.decoded("0.322266")).metric == .double(0.322266))
        #expect(try self.event(Self.decoded("-1.5e-3")).metric == .double(-0.0015))
        #expect(try self.event(Self.decoded("-17")).metric == .sint64(-17))
    }

    @Test func uint64MaximumBecomesADoubleWithoutOverflow() throws {
        let event = try self.event(Self.decoded("18446744073709551615"))
        #expect(event.metric == .double(18446744073709551615.0))
        #expect(try self.event(Self.decoded("9223372036854775807")).metric == .sint64(.max))
    }

    @Test(arguments: [
        "hello world", "Linux vm 6.1 x86_64", "", "nan", "inf", "0x10", "1,5", " 42", "42 ", "1.2.3", "--1",
    ])
    func textValueNeverProducesAMetric(text: String) throws {
        let event = try self.event(Self.decoded(text))
        #expect(event.metric == nil, "\(text)")
        #expect(event.description == text)
    }

    @Test func textItemWhoseValueLooksNumericStaysText() throws {
        // Value type 1 (character) from the proxy configuration: "42" is text there.
        let event = try self.event(Self.decoded("42", valueType: 1))
        #expect(event.metric == nil)
        #expect(event.description == "42")
        #expect(try self.event(Self.decoded("42", valueType: 3)).metric == .sint64(42))
        #expect(try self.event(Self.decoded("42.5", valueType: 0)).metric == .double(42.5))
    }

    @Test func timeComesFromClockAndNs() throws {
        let event = try self.event(Self.decoded("1", clock: 1_700_000_000, ns: 123_456_789))
        #expect(event.time == 1_700_000_000)
        #expect(event.timeMicros == 1_700_000_000_123_456)
        let noNs = try self.event(Self.decoded("1", clock: 1_700_000_000, ns: nil))
        #expect(noNs.timeMicros == 1_700_000_000_000_000)
    }

    @Test func valueWithoutClockGetsTheTimeTheTeeSawIt() throws {
        let event = try self.event(Self.decoded("1", clock: nil, ns: nil))
        #expect(event.timeMicros == 1_800_000_000_000_000)
        #expect(event.time == 1_800_000_000)
    }

    @Test func notSupportedItemGetsTheConfiguredStateAndTheErrorAsDescription() throws {
        let decoded = Self.decoded("Cannot open file: [2] No such file or directory", state: .notSupported)
        let event = try self.event(decoded)
        #expect(event.state == "critical")
        #expect(event.metric == nil)
        #expect(event.description == "Cannot open file: [2] No such file or directory")
        #expect(try self.event(decoded) { $0.notSupported = .state("warning") }.state == "warning")
        let dropped = EventMapper(
            configuration: {
                var c = MappingConfiguration()
                c.notSupported = .drop
                return c
            }()
        ).event(for: decoded)
        #expect(throws: EventMapper.SkipReason.self) { try dropped.get() }
    }

    @Test func defaultsGiveTagTtlAndZabbixAttributes() throws {
        let event = try self.event(Self.decoded("1", itemid: 1003))
        #expect(event.tags == ["zabbix"])
        #expect(event.ttl == 300)
        let attributes = Dictionary(uniqueKeysWithValues: event.attributes.map { ($0.key, $0.value) })
        #expect(attributes["zabbix_request"] == "agent data")
        #expect(attributes["zabbix_listener"] == "agents")
        #expect(attributes["zabbix_itemid"] == "1003")
    }

    @Test func serviceTemplateAndStaticAttributes() throws {
        let event = try self.event(Self.decoded("1", itemid: 7)) {
            $0.service = ServiceTemplate("zabbix {listener} {host} {key} #{itemid} ({request}) {other}")
            $0.attributes = [("env", "prod")]
            $0.tags = ["zabbix", "prod"]
            $0.ttl = nil
            $0.zabbixAttributes = false
        }
        #expect(event.service == "zabbix agents web01 system.cpu.load[all,avg1] #7 (agent data) {other}")
        #expect(event.attributes == [RiemannAttribute(key: "env", value: "prod")])
        #expect(event.tags == ["zabbix", "prod"])
        #expect(event.ttl == nil)
    }

    @Test func longTextIsCutWithoutSplittingACharacter() throws {
        let text = String(repeating: "é", count: 100)  // 200 bytes of UTF-8
        let event = try self.event(Self.decoded(text)) { $0.descriptionMaximumLength = 101 }
        #expect(event.description == String(repeating: "é", count: 50))
    }

    @Test func hostAndKeyAreCutAtZabbixsLengthsCountedInCharacters() throws {
        // 200 two-byte characters: 128 of them fit Zabbix's host, whatever their bytes.
        let host = String(repeating: "ü", count: 200)
        let key = "k[" + String(repeating: "日", count: 3_000) + "]"
        let event = try self.event(Self.decoded("1", key: key, host: host))
        #expect(event.host == String(repeating: "ü", count: 128))
        #expect(event.service == "k[" + String(repeating: "日", count: 2_046))
        #expect(event.service?.unicodeScalars.count == 2_048)
        // What Zabbix can store is never cut.
        let fits = try self.event(
            Self.decoded("1", key: String(repeating: "k", count: 2_048), host: String(repeating: "h", count: 128))
        )
        #expect(fits.host?.count == 128 && fits.service?.count == 2_048)
    }

    @Test func aKeyOfManyMebibytesBecomesAServiceOfBoundedSize() throws {
        // A non-JSON frame on a passive listener once made its whole payload the key.
        let key = String(repeating: "x", count: 8 << 20)
        let event = try self.event(Self.decoded("1", key: key, host: "web01")) {
            $0.service = ServiceTemplate("{host} {key} {host} {key}")
        }
        let service = try #require(event.service)
        #expect(service.utf8.count <= MappingConfiguration.serviceMaximumBytes)
        #expect(service.hasPrefix("web01 " + String(repeating: "x", count: 2_048) + " web01 x"))
        #expect(event.encodedSizeInMessage < 32 << 10)
    }

    @Test func theServiceIsCutWithoutSplittingACharacter() throws {
        // 4-byte characters: 2 048 of them make 8 KiB; twice plus a separator is just over 16 KiB.
        let key = String(repeating: "🚀", count: 2_048)
        let event = try self.event(Self.decoded("1", key: key)) { $0.service = ServiceTemplate("{key}-{key}") }
        let service = try #require(event.service)
        #expect(service.utf8.count <= MappingConfiguration.serviceMaximumBytes)
        #expect(service == key + "-" + String(repeating: "🚀", count: 2_047))
    }

    @Test func attributeValuesFromTheTrafficAreCut() throws {
        let long = String(repeating: "é", count: 1_000)  // 2 000 bytes
        let value = ItemValue(
            requestType: .proxyData,
            host: "h",
            key: "log[/var/log/x]",
            proxy: long,
            value: "line",
            source: long
        )
        let decoded = DecodedValue(
            value: value,
            listener: "proxies",
            connection: 1,
            seenAtMicros: 1_800_000_000_000_000
        )
        let event = try EventMapper(configuration: MappingConfiguration()).event(for: decoded).get()
        let attributes = Dictionary(
            event.attributes.map { ($0.key, $0.value) },
            uniquingKeysWith: { first, _ in first }
        )
        #expect(attributes["zabbix_proxy"] == String(repeating: "é", count: 512))
        #expect(attributes["zabbix_log_source"] == String(repeating: "é", count: 512))
    }

    @Test func everyEventTheMappingMakesStaysWithinItsStatedLargestSize() throws {
        var configuration = MappingConfiguration()
        configuration.service = ServiceTemplate("{listener} {host} {key} {itemid} {request} {key}")
        configuration.attributes = [("env", "production")]
        let huge = String(repeating: "💥", count: 4 << 20)
        let value = ItemValue(
            requestType: .proxyData,
            host: huge,
            key: huge,
            itemid: .max,
            proxy: huge,
            value: huge,
            state: .notSupported,
            clock: .min,
            ns: .max,
            lastlogsize: .max,
            mtime: .min,
            timestamp: .min,
            source: huge,
            severity: .min,
            eventid: .min
        )
        let decoded = DecodedValue(value: value, listener: "proxies", connection: 1, seenAtMicros: .min)
        let event = try EventMapper(configuration: configuration).event(for: decoded).get()
        #expect(event.encodedSizeInMessage <= configuration.largestEventBytes)
        #expect(configuration.largestEventBytes < 64 << 10, "the defaults fit a message many times over")
    }

    @Test func includeAndExcludeFiltersByHostAndKeyWithGlobsAndRegexes() throws {
        let mapper = EventMapper(
            configuration: {
                var c = MappingConfiguration()
                c.include = ValueFilter(hosts: [try! Pattern("web*"), try! Pattern("/^db-[0-9]+$/")])
                c.exclude = ValueFilter(keys: [try! Pattern("vfs.fs.*")])
                return c
            }()
        )
        #expect((try? mapper.event(for: Self.decoded("1", host: "web01")).get()) != nil)
        #expect((try? mapper.event(for: Self.decoded("1", host: "db-12")).get()) != nil)
        #expect((try? mapper.event(for: Self.decoded("1", host: "db-x")).get()) == nil)
        #expect((try? mapper.event(for: Self.decoded("1", host: "mail")).get()) == nil)
        #expect((try? mapper.event(for: Self.decoded("1", key: "vfs.fs.size[/,pfree]", host: "web01")).get()) == nil)
    }
}
