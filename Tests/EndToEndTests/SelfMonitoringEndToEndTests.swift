import Foundation
import Riemann
import TestSupport
import Testing

/// Acceptance (issue 5, self-monitoring): with `riemann.self_monitoring` on, the tee's own figures
/// arrive at Riemann every interval with the configured host and prefix, next to the mapped values.
@Suite("self-monitoring events", .tags(.integration), .tier(.integration), .timeLimit(.minutes(1)))
struct SelfMonitoringEndToEndTests {
    @Test func figuresArriveEveryIntervalWithTheConfiguredHostAndServices() async throws {
        let target = try ReloadEndToEndTests.TrapperTarget("A")
        let riemann = try await RiemannTestServer.start()
        let port = try LoopbackPort.free()
        let tee = try await TeeProcess.start(
            configuration: """
                listeners:
                \(TeeProcess.listener(name: "agents", port: port, targets: [target.port]))
                riemann:
                  servers: ["127.0.0.1:\(riemann.port)"]
                  batch: { max_events: 100, max_delay: 10ms }
                  self_monitoring: { interval: 1s, host: tee-under-test, service_prefix: "tee" }
                """,
            ports: [port]
        )
        do {
            let conversation = try ReloadEndToEndTests.Conversation(port: port)
            let reply = ReloadEndToEndTests.TrapperTarget.reply("A")
            #expect(try await conversation.send(key: "k1", value: 1, replyLength: reply.count) == reply)
            // Two reports: the second one covers the interval with the value and the open connection.
            try await riemann.waitUntil(timeout: .seconds(10)) { server in
                server.receivedEvents.filter { $0.service == "tee connections open" }.count >= 2
            }
            let events = riemann.receivedEvents.filter { $0.host == "tee-under-test" }
            let services = Set(events.compactMap(\.service))
            #expect(
                services.isSuperset(of: [
                    "tee connections open", "tee connections/s", "tee bytes/s client_to_server",
                    "tee bytes/s server_to_client",
                    "tee item values/s", "tee events dropped", "tee events dropped total", "tee riemann queue",
                    "tee catalog entries", "tee listener agents healthy targets",
                ]),
                "\(services)"
            )
            let open = events.last { $0.service == "tee connections open" }
            #expect(open?.metric == .sint64(1), "the conversation is still open")
            #expect(events.last { $0.service == "tee listener agents healthy targets" }?.metric == .sint64(1))
            #expect(events.allSatisfy { $0.tags == ["zabbix-tee"] && $0.ttl == 3 })
            let times = events.filter { $0.service == "tee connections open" }.compactMap(\.timeMicros)
            if times.count >= 2 {
                let gap = Double(times[1] - times[0]) / 1e6
                #expect(gap > 0.8 && gap < 2.5, "one report per interval: \(gap) s")
            }
            #expect(riemann.receivedEvents.contains { $0.service == "k1" }, "mapped values still flow")
            conversation.socket.close()
            #expect(try await tee.stop() == 0)
        } catch {
            _ = try? await tee.stop()
            throw error
        }
        await riemann.shutdown()
        target.stop()
    }
}
