import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Acceptance (issue 7): the real `zabbix-tee` binary with each limit and an allow-list. A refused
/// connection is closed before the target sees it, the warning is in the tee's log, the counter
/// in `/metrics`; allowed clients keep working. And the files the tee writes are owner-only.
@Suite(
    "limits and privileges with the real binary",
    .tags(.integration),
    .tier(.integration),
    .serialized,
    .timeLimit(.minutes(2))
)
struct LimitsEndToEndTests {
    /// The log line whose message is `message` (text format: `... [Module] message`), if any.
    static func line(_ log: String, containing message: String) -> String? {
        log.split(separator: "\n").first { $0.hasSuffix("] " + message) }.map(String.init)
    }

    @Test func eachLimitRefusesLogsAndCounts() async throws {
        let target = try EchoTarget()
        defer { target.stop() }
        let ports = try (0..<4).map { _ in try LoopbackPort.free() }
        let adminPort = try LoopbackPort.free()
        let configuration = """
            listeners:
            \(TeeProcess.listener(name: "allowed", port: ports[0], targets: [target.port], extra: ["allow: [\"127.0.0.2\", \"10.0.0.0/8\"]"]))
            \(TeeProcess.listener(name: "per-source", port: ports[1], targets: [target.port], extra: ["max_connections_per_source: 1"]))
            \(TeeProcess.listener(name: "rate", port: ports[2], targets: [target.port], extra: ["accept_rate: { per_second: 0.001, burst: 1 }"]))
            \(TeeProcess.listener(name: "capped", port: ports[3], targets: [target.port], extra: ["max_connections: 1"]))
            admin:
              listen: "127.0.0.1:\(adminPort)"
            """
        // Listeners are bound before the admin endpoint: waiting for it alone keeps the start-up
        // probe from using the rate listener's only token or tripping the allow-list.
        let tee = try await TeeProcess.start(configuration: configuration, ports: [adminPort])
        do {
            // Allow-list: 127.0.0.1 is not in it, 127.0.0.2 is.
            #expect(try await EchoTarget.closedAtOnce(port: ports[0], from: "127.0.0.1"))
            let allowed = try await EchoTarget.echoingClient(port: ports[0], from: "127.0.0.2")
            // Per source: one connection per address.
            let perSource = try await EchoTarget.echoingClient(port: ports[1], from: "127.0.0.1")
            #expect(try await EchoTarget.closedAtOnce(port: ports[1], from: "127.0.0.1"))
            let otherSource = try await EchoTarget.echoingClient(port: ports[1], from: "127.0.0.3")
            // Rate: a bucket of one token that refills in 1000 s.
            let rated = try await EchoTarget.echoingClient(port: ports[2], from: "127.0.0.1")
            #expect(try await EchoTarget.closedAtOnce(port: ports[2], from: "127.0.0.1"))
            // Listener limit: one connection at once.
            let capped = try await EchoTarget.echoingClient(port: ports[3], from: "127.0.0.1")
            #expect(try await EchoTarget.closedAtOnce(port: ports[3], from: "127.0.0.4"))

            #expect(target.connections == 5, "the four refused connections never reached the target")
            for socket in [allowed, perSource, otherSource, rated, capped] {
                #expect(try await EchoTarget.echo("still relayed", on: socket))
            }

            let metrics = try MetricsScrape.get(port: adminPort)
            let expected: [(listener: String, reason: String)] = [
                ("allowed", "not_allowed"), ("per-source", "source_limit"), ("rate", "rate_limit"),
                ("capped", "max_connections"),
            ]
            for (listener, reason) in expected {
                for other in ["not_allowed", "source_limit", "rate_limit", "max_connections"] {
                    #expect(
                        metrics.value(
                            "zabbix_tee_connections_refused_total",
                            [("listener", listener), ("reason", other)]
                        )
                            == (other == reason ? 1 : 0),
                        "\(listener) \(other)"
                    )
                }
            }
            #expect(metrics.value("zabbix_tee_connections_total", [("listener", "capped")]) == 1)
            #expect(metrics.value("zabbix_tee_connections_active", [("listener", "per-source")]) == 2)

            let log = tee.log()
            let warnings: [(listener: String, message: String, peer: String)] = [
                (
                    "allowed", "client address not in the listener's allow list; closing the new client connection",
                    "127.0.0.1:"
                ),
                ("per-source", "per-source connection limit reached; closing the new client connection", "127.0.0.1:"),
                ("rate", "accept rate limit reached; closing the new client connection", "127.0.0.1:"),
                ("capped", "connection limit reached; closing the new client connection", "127.0.0.4:"),
            ]
            for warning in warnings {
                let line = Self.line(log, containing: warning.message)
                #expect(line?.contains("warning") == true, "\(warning.listener): \(log)")
                #expect(line?.contains("listener=\(warning.listener)") == true, "\(line ?? "no line")")
                #expect(line?.contains("peer=\(warning.peer)") == true, "\(line ?? "no line")")
            }
            #expect(log.contains("allow=127.0.0.2,10.0.0.0/8"))
            for socket in [allowed, perSource, otherSource, rated, capped] { socket.close() }
        } catch {
            _ = try? await tee.stop()
            throw error
        }
        #expect(try await tee.stop() == 0)
    }

    /// The process-wide `max_connections` holds over all listeners of the real binary, and a
    /// silent client is let go after its listener's `first_byte_timeout`, giving its place back.
    @Test func theProcessWideLimitHoldsOverListenersAndASilentClientGivesItsPlaceBack() async throws {
        let target = try EchoTarget()
        defer { target.stop() }
        let ports = try (0..<2).map { _ in try LoopbackPort.free() }
        let adminPort = try LoopbackPort.free()
        let configuration = """
            max_connections: 3
            listeners:
            \(TeeProcess.listener(name: "a", port: ports[0], targets: [target.port]))
            \(TeeProcess.listener(name: "b", port: ports[1], targets: [target.port], extra: ["first_byte_timeout: 1s"]))
            admin:
              listen: "127.0.0.1:\(adminPort)"
            """
        let tee = try await TeeProcess.start(configuration: configuration, ports: [adminPort])
        func metric(_ name: String, _ labels: [(String, String)]) -> Double {
            (try? MetricsScrape.get(port: adminPort).value(name, labels)) ?? -1
        }
        do {
            // Clients that spoke hold their places (no deadline but the idle timeout).
            let held = [
                try await EchoTarget.echoingClient(port: ports[0], from: "127.0.0.1"),
                try await EchoTarget.echoingClient(port: ports[0], from: "127.0.0.2"),
                try await EchoTarget.echoingClient(port: ports[1], from: "127.0.0.3"),
            ]
            #expect(
                try await EchoTarget.closedAtOnce(port: ports[1], from: "127.0.0.4"),
                "the fourth, on the other listener"
            )
            #expect(try await EchoTarget.closedAtOnce(port: ports[0], from: "127.0.0.4"))
            for listener in ["a", "b"] {
                #expect(
                    metric(
                        "zabbix_tee_connections_refused_total",
                        [("listener", listener), ("reason", "process_max_connections")]
                    ) == 1
                )
            }
            #expect(target.connections == 3, "refused connections never reach the target")

            held[2].close()
            #expect(await eventually { metric("zabbix_tee_connections_active", [("listener", "b")]) == 0 })
            // A client that never speaks takes the free place until b's first-byte deadline.
            let silent = try BlockingSocket.connect(port: ports[1], from: "127.0.0.5")
            #expect(await eventually { metric("zabbix_tee_connections_active", [("listener", "b")]) == 1 })
            #expect(
                await eventually {
                    metric("zabbix_tee_connections_timed_out_total", [("listener", "b"), ("reason", "first_byte")]) == 1
                }
            )
            #expect(await eventually { metric("zabbix_tee_connections_active", [("listener", "b")]) == 0 })
            silent.setReceiveTimeout(seconds: 5)
            #expect((try? silent.receive())?.isEmpty ?? true, "the silent client sees its connection end")
            silent.close()
            // ...and the place is free again.
            let after = try await EchoTarget.echoingClient(port: ports[1], from: "127.0.0.1")
            #expect(try await EchoTarget.echo("still relayed", on: held[0]))
            let log = tee.log()
            #expect(
                log.components(separatedBy: "process-wide connection limit reached").count - 1 == 2,
                "one warning per listener and interval: \(log)"
            )
            for socket in [held[0], held[1], after] { socket.close() }
        } catch {
            _ = try? await tee.stop()
            throw error
        }
        #expect(try await tee.stop() == 0)
    }

    @Test func runWarnsWhenStartedAsRoot() async throws {
        let port = try LoopbackPort.free()
        let tee = try await TeeProcess.start(
            configuration: "listeners:\n" + TeeProcess.listener(name: "a", port: port, targets: [10051]),
            ports: [port]
        )
        let log = tee.log()
        #expect(try await tee.stop() == 0)
        #expect(log.contains("running as root; zabbix-tee needs no privileges") == (geteuid() == 0), "\(log)")
    }

    @Test func catalogAndRecordingsAreWrittenOwnerOnly() async throws {
        let target = try EchoTarget()
        defer { target.stop() }
        let directory = try ZabbixLabDirectory.create("modes")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let port = try LoopbackPort.free()
        let configuration = """
            listeners:
            \(TeeProcess.listener(name: "agents", port: port, targets: [target.port], extra: ["record: \(directory)/record"]))
            catalog:
              path: \(directory)/catalog.jsonl
            """
        let tee = try await TeeProcess.start(configuration: configuration, ports: [port])
        let client = try await EchoTarget.echoingClient(port: port, from: "127.0.0.1")
        client.close()
        try await waitUntil("a recording with its meta.json", timeout: .seconds(10)) {
            let entries = (try? FileManager.default.contentsOfDirectory(atPath: "\(directory)/record")) ?? []
            return entries.contains { FileManager.default.fileExists(atPath: "\(directory)/record/\($0)/meta.json") }
        }
        #expect(try await tee.stop() == 0, "the catalog is saved at shutdown")

        func mode(_ path: String) throws -> Int {
            try #require(try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int)
        }
        #expect(try mode("\(directory)/catalog.jsonl") == 0o600)
        #expect(try mode("\(directory)/record") == 0o700)
        let recordings = try FileManager.default.contentsOfDirectory(atPath: "\(directory)/record")
        #expect(!recordings.isEmpty, "ours, and the start-up probe's")
        for recording in recordings {
            #expect(try mode("\(directory)/record/\(recording)") == 0o700)
            for file in ["client.bin", "server.bin", "meta.json"] {
                #expect(try mode("\(directory)/record/\(recording)/\(file)") == 0o600, "\(file)")
            }
        }
    }
}
