import Foundation
import Relay
import Tee
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Secure defaults, as Zabbix has them: a listener reachable from other hosts must say who may
/// connect, and what is probably a mistake is pointed out with file, line and key.
struct SecureDefaultsTests {
    static func listener(listen: String, extra: String = "", target: String = "zabbix:10051") -> String {
        "listeners:\n  - name: agents\n    listen: [\"\(listen)\"]\n    targets: [\"\(target)\"]\n" + extra
    }

    /// Like the agent without `Server=`: refused at start, naming the line of `listen` and the
    /// missing key, because behind the tee `allow` is the only source check left.
    @Test(arguments: ["0.0.0.0:10051", "[::]:10051", "10.1.2.3:10051", "[2001:db8::1]:10051", "tee.example.net:10051"])
    func aListenerOnANonLoopbackAddressWithoutAllowIsRefused(_ listen: String) {
        do {
            _ = try ConfigLoader.parse(yaml: Self.listener(listen: listen), file: "tee.yaml")
            Issue.record("\(listen): accepted without allow")
        } catch {
            #expect(
                error.description.hasPrefix(
                    "tee.yaml:3:13: listeners[0].allow: required for a listener on a non-loopback address"
                ),
                "\(error)"
            )
            #expect(error.message.contains("allow: any"), "says how to opt out")
            #expect(error.message.contains("Server="), "says why")
        }
    }

    @Test(arguments: ["127.0.0.1:10051", "127.0.0.2:10051", "[::1]:10051", "localhost:10051"])
    func aLoopbackOnlyListenerNeedsNoAllow(_ listen: String) throws {
        let configuration = try ConfigLoader.parse(yaml: Self.listener(listen: listen), file: "tee.yaml")
        #expect(configuration.listeners[0].allow == IPNetwork.everyone)
    }

    @Test func aListenerOnLoopbackAndElsewhereNeedsAllowToo() {
        let yaml = "listeners:\n  - name: a\n    listen: [\"127.0.0.1:1\", \"0.0.0.0:2\"]\n    targets: [\"h:1\"]\n"
        #expect(throws: ConfigError.self) { try ConfigLoader.parse(yaml: yaml, file: "tee.yaml") }
    }

    @Test func allowAnyOptsOutExplicitlyAndNetworksAreAccepted() throws {
        let any = try ConfigLoader.parse(
            yaml: Self.listener(listen: "0.0.0.0:10051", extra: "    allow: any\n"),
            file: "tee.yaml"
        )
        #expect(any.listeners[0].allow == IPNetwork.everyone)
        let networks = try ConfigLoader.parse(
            yaml: Self.listener(listen: "[::]:10051", extra: "    allow: [\"10.0.0.0/8\", \"2001:db8::/32\"]\n"),
            file: "tee.yaml"
        )
        #expect(networks.listeners[0].allow.map(\.description) == ["10.0.0.0/8", "2001:db8::/32"])
        // The effective configuration of an explicit `any` loads again.
        let reloaded = try ConfigLoader.parse(yaml: any.effectiveYAML, file: "effective")
        #expect(reloaded.listeners == any.listeners)
    }

    @Test(arguments: ["10.0.0.0/+8", "10.0.0.0/08", "10.0.0.0/33", "anything"])
    func malformedAllowEntriesAreRefusedWithTheirKey(_ network: String) {
        let yaml = Self.listener(listen: "0.0.0.0:10051", extra: "    allow: [\"\(network)\"]\n")
        #expect {
            _ = try ConfigLoader.parse(yaml: yaml, file: "tee.yaml")
        } throws: { error in
            (error as? ConfigError)?.description.hasPrefix("tee.yaml:5:13: listeners[0].allow[0]: ") == true
        }
    }

    @Test(arguments: [
        ("127.0.0.1:10051", "127.0.0.1:10051"), ("0.0.0.0:10051", "127.0.0.1:10051"),
        ("0.0.0.0:10051", "localhost:10051"),
        ("[::]:10051", "[::1]:10051"), ("localhost:10051", "127.0.0.1:10051"), ("10.1.2.3:10051", "10.1.2.3:10051"),
    ])
    func aTargetThatIsTheListenersOwnAddressIsAWarning(_ addresses: (String, String)) throws {
        let (listen, target) = addresses
        let configuration = try ConfigLoader.parse(
            yaml: Self.listener(listen: listen, extra: "    allow: any\n", target: target),
            file: "tee.yaml"
        )
        let warning = try #require(configuration.warnings.first { $0.keyPath == "listeners[0].targets[0]" })
        #expect(warning.description.hasPrefix("tee.yaml:4:15: listeners[0].targets[0]: warning: "), "\(warning)")
        #expect(warning.message.contains("own listen address"))
    }

    @Test(arguments: [
        ("127.0.0.1:10051", "127.0.0.1:10052"), ("127.0.0.1:10051", "127.0.0.2:10051"),
        ("0.0.0.0:10051", "zabbix:10051"),
    ])
    func otherTargetsAreNotWarnedAbout(_ addresses: (String, String)) throws {
        let (listen, target) = addresses
        let configuration = try ConfigLoader.parse(
            yaml: Self.listener(listen: listen, extra: "    allow: any\n", target: target),
            file: "tee.yaml"
        )
        #expect(configuration.warnings.isEmpty, "\(configuration.warnings)")
    }

    @Test func recordTakesAPathOrAMappingWithLimits() throws {
        let plain = try ConfigLoader.parse(
            yaml: Self.listener(listen: "127.0.0.1:1", extra: "    record: /var/lib/rec\n"),
            file: "t"
        )
        #expect(plain.options(for: "agents").record == RecordingConfiguration(path: "/var/lib/rec"))
        let limited = try ConfigLoader.parse(
            yaml: Self.listener(
                listen: "127.0.0.1:1",
                extra: "    record: { path: /var/lib/rec, max_bytes: 10MiB, max_files: 50 }\n"
            ),
            file: "t"
        )
        let record = try #require(limited.options(for: "agents").record)
        #expect(record == RecordingConfiguration(path: "/var/lib/rec", maximumBytes: 10 << 20, maximumRecordings: 50))
        #expect(
            limited.effectiveYAML.contains("    record: { path: \"/var/lib/rec\", max_bytes: 10MiB, max_files: 50 }\n")
        )
        let reloaded = try ConfigLoader.parse(yaml: limited.effectiveYAML, file: "effective")
        #expect(reloaded.options(for: "agents").record == record)
        #expect(plain.effectiveYAML.contains("max_bytes: 1GiB, max_files: 10000 }"), "the defaults spelled out")
    }

    @Test(arguments: [
        ("    record: { max_bytes: 1GiB }\n", "listeners[0].record", "missing key 'path'"),
        ("    record: { path: /r, max_files: 0 }\n", "listeners[0].record.max_files", "out of range"),
        ("    record: { path: /r, max_bytes: lots }\n", "listeners[0].record.max_bytes", "not a size"),
        ("    record: { path: /r, rotate: true }\n", "listeners[0].record.rotate", "unknown key"),
        ("    record: \"\"\n", "listeners[0].record", "must not be empty"),
    ])
    func brokenRecordSettingsNameTheKey(_ broken: (String, String, String)) {
        let (extra, keyPath, words) = broken
        do {
            _ = try ConfigLoader.parse(yaml: Self.listener(listen: "127.0.0.1:1", extra: extra), file: "t")
            Issue.record("accepted: \(extra)")
        } catch {
            #expect(error.keyPath == keyPath)
            #expect(error.message.contains(words), "\(error)")
        }
    }

    /// Recordings hold values and proxy configuration (macro values may be secrets) in clear:
    /// check-config says so whenever `record` is set, and warns about a relative path.
    @Test func recordingsAreWarnedAboutAndARelativePathToo() throws {
        let absolute = try ConfigLoader.parse(
            yaml: Self.listener(listen: "127.0.0.1:1", extra: "    record: /nonexistent/rec\n"),
            file: "t"
        )
        #expect(absolute.warnings.count == 1)
        #expect(absolute.warnings[0].keyPath == "listeners[0].record")
        #expect(absolute.warnings[0].message.contains("in clear"))
        #expect(absolute.warnings[0].message.contains("secrets"))
        let relative = try ConfigLoader.parse(
            yaml: Self.listener(listen: "127.0.0.1:1", extra: "    record: { path: recordings }\n"),
            file: "t"
        )
        let warning = try #require(relative.warnings.first { $0.message.contains("relative path") })
        #expect(warning.keyPath == "listeners[0].record.path")
    }

    @Test func aRecordDirectoryEveryoneMayWriteToIsWarnedAbout() throws {
        let directory = try ZabbixLabDirectory.create("rec-warning")
        defer { ZabbixLabDirectory.remove(directory) }
        chmod(directory, 0o777)
        let configuration = try ConfigLoader.parse(
            yaml: Self.listener(listen: "127.0.0.1:1", extra: "    record: \(directory)\n"),
            file: "t"
        )
        #expect(
            configuration.warnings.contains {
                $0.message.contains("writable by every user") && $0.message.contains("refuse")
            }
        )
    }

    @Test func aCatalogInADirectoryEveryoneMayWriteToIsWarnedAbout() throws {
        let directory = try ZabbixLabDirectory.create("catalog-warning")
        defer { ZabbixLabDirectory.remove(directory) }
        chmod(directory, 0o1777)  // like /tmp
        let base = Self.listener(listen: "127.0.0.1:1")
        let exposed = try ConfigLoader.parse(yaml: base + "catalog:\n  path: \(directory)/catalog.jsonl\n", file: "t")
        let warning = try #require(exposed.warnings.first)
        #expect(
            warning.description.hasPrefix(
                "t:6:9: catalog.path: warning: the directory \(directory) is writable by every user"
            )
        )
        chmod(directory, 0o700)
        let own = try ConfigLoader.parse(yaml: base + "catalog:\n  path: \(directory)/catalog.jsonl\n", file: "t")
        #expect(own.warnings.isEmpty)
    }

    /// systemd kills a unit that takes longer than TimeoutStopSec= to stop; the shipped unit
    /// allows 90 s, and the tee says when its configuration needs more.
    @Test func aStopThatCouldOutlastTheShippedUnitsTimeoutStopSecIsAWarning() throws {
        let base = Self.listener(listen: "127.0.0.1:1")
        let defaults = try ConfigLoader.parse(yaml: base + "riemann:\n  servers: [\"r:5555\"]\n", file: "t")
        #expect(defaults.longestGracefulStop == .seconds(55), "30 s + 10 s + 15 s")
        #expect(defaults.warnings.isEmpty)
        let long = try ConfigLoader.parse(yaml: "shutdown_timeout: 10m\n" + base, file: "t")
        let warning = try #require(long.warnings.first)
        #expect(
            warning.description.hasPrefix("t:1:19: shutdown_timeout: warning: a graceful stop may take up to 615s"),
            "\(warning)"
        )
        #expect(warning.message.contains("TimeoutStopSec=615"))
    }
}
