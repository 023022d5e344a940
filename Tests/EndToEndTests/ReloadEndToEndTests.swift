import Foundation
import Riemann
import TestSupport
import Testing

/// Acceptance (issue 5, reload): SIGHUP changing the target, a mapping rule and the listen
/// address while a connection is open: the open connection finishes untouched against the old
/// target, new connections use the new target, address and rule; a broken configuration on
/// SIGHUP is rejected with a line naming the file and key, and the old one keeps working.
@Suite("reload on SIGHUP", .tags(.integration), .tier(.integration), .timeLimit(.minutes(2)))
struct ReloadEndToEndTests {
    /// A Zabbix-server stand-in: answers every ZBXD request on a connection with a fixed reply
    /// naming itself, until the client closes.
    final class TrapperTarget: Sendable {
        let listener: BlockingListener
        let name: String
        private let thread: TestThreads.Handle<Void>

        init(_ name: String) throws {
            let listener = try BlockingListener()
            self.listener = listener
            self.name = name
            let reply = Self.reply(name)
            self.thread = TestThreads.start {
                while let socket = try? listener.accept() {
                    _ = TestThreads.start {
                        socket.setReceiveTimeout(seconds: 30)
                        while let header = try? socket.receive(exactly: 13), header.count == 13 {
                            let length = header[5..<9].reversed().reduce(0) { $0 << 8 | Int($1) }
                            guard (try? socket.receive(exactly: length))?.count == length else { break }
                            try? socket.send(reply)
                        }
                        socket.close()
                    }
                }
            }
        }

        static func reply(_ name: String) -> [UInt8] {
            ZabbixFrames.plain(
                #"{"response":"success","info":"processed: 1; failed: 0; total: 1; seconds spent: 0.000010 (\#(name))"}"#
            )
        }

        var port: Int { self.listener.port }
        func stop() { self.listener.close() }
    }

    /// One `sender data` request with one value.
    static func senderData(key: String, value: Int) -> [UInt8] {
        ZabbixFrames.plain(
            #"{"request":"sender data","data":[{"host":"reload-host","key":"\#(key)","value":"\#(value)"}]}"#
        )
    }

    /// A client connection kept open across requests.
    final class Conversation: Sendable {
        let socket: BlockingSocket
        init(port: Int) throws {
            self.socket = try BlockingSocket.connect(port: port)
            self.socket.setReceiveTimeout(seconds: 10)
        }

        /// Sends one value and returns the reply frame.
        func send(key: String, value: Int, replyLength: Int) async throws -> [UInt8] {
            try await TestThreads.start { () throws -> [UInt8] in
                try self.socket.send(ReloadEndToEndTests.senderData(key: key, value: value))
                return try self.socket.receive(exactly: replyLength)
            }.value
        }
    }

    static func configuration(
        listen: Int,
        target: Int,
        service: String,
        riemann: Int,
        admin: Int,
        threads: Int = 2,
        broken: Bool = false
    ) -> String {
        """
        threads: \(threads)
        listeners:
          - name: agents
            listen: ["127.0.0.1:\(listen)"]
            targets: ["127.0.0.1:\(target)"]
            \(broken ? "balance: roundrobin" : "balance: failover")
        riemann:
          servers: ["127.0.0.1:\(riemann)"]
          batch: { max_events: 10, max_delay: 10ms }
        mapping:
          service: "\(service)"
        admin:
          listen: "127.0.0.1:\(admin)"
        """
    }

    static func services(_ riemann: RiemannTestServer) -> Set<String> {
        Set(riemann.receivedEvents.compactMap(\.service))
    }

    @Test func sighupSwitchesTargetRuleAndAddressForNewConnectionsOnlyAndABrokenFileChangesNothing() async throws {
        let a = try TrapperTarget("A")
        let b = try TrapperTarget("B")
        let riemann = try await RiemannTestServer.start()
        let newRiemann = try await RiemannTestServer.start()
        let oldPort = try LoopbackPort.free()
        let newPort = try LoopbackPort.free()
        let admin = try LoopbackPort.free()
        let replyA = TrapperTarget.reply("A")
        let replyB = TrapperTarget.reply("B")
        #expect(replyA.count == replyB.count)
        let tee = try await TeeProcess.start(
            configuration: Self.configuration(
                listen: oldPort,
                target: a.port,
                service: "x.{key}",
                riemann: riemann.port,
                admin: admin
            ),
            ports: [oldPort, admin]
        )
        do {
            // A conversation under way on the old address, with the old target.
            let held = try Conversation(port: oldPort)
            #expect(try await held.send(key: "k1", value: 1, replyLength: replyA.count) == replyA)
            try await riemann.waitUntil { Self.services($0).contains("x.k1") }

            try tee.rewriteConfiguration(
                Self.configuration(
                    listen: newPort,
                    target: b.port,
                    service: "y.{key}",
                    riemann: newRiemann.port,
                    admin: admin,
                    threads: 3
                )
            )
            try await tee.reload(expectingOutcome: 1)
            #expect(
                tee.log().contains(
                    "configuration reloaded: listener agents: listen, targets; mapping.service; riemann.servers"
                ),
                "\(tee.log())"
            )
            #expect(
                tee.log().contains("warning zabbix-tee: [Tee] threads changed; takes effect after a restart"),
                "\(tee.log())"
            )

            // The open connection carries on, byte for byte, with the target it started with.
            #expect(try await held.send(key: "k2", value: 2, replyLength: replyA.count) == replyA)
            // The removed address takes no new connections; the added one does, to the new target.
            #expect(!LoopbackPort.isAccepting(oldPort))
            let fresh = try Conversation(port: newPort)
            #expect(try await fresh.send(key: "k3", value: 3, replyLength: replyB.count) == replyB)
            // Values decoded after the reload follow the new rule, to the new Riemann server.
            try await newRiemann.waitUntil { Self.services($0).isSuperset(of: ["y.k2", "y.k3"]) }
            #expect(!Self.services(newRiemann).contains("x.k2"))
            try await riemann.waitUntil { $0.openConnectionCount == 0 }
            held.socket.close()
            fresh.socket.close()

            // A broken file: rejected with file, line and key; the running configuration stays.
            try tee.rewriteConfiguration(
                Self.configuration(
                    listen: oldPort,
                    target: a.port,
                    service: "z.{key}",
                    riemann: riemann.port,
                    admin: admin,
                    broken: true
                )
            )
            try await tee.reload(expectingOutcome: 2)
            let rejection =
                tee.log().split(separator: "\n").first { $0.contains("configuration reload rejected") }.map(String.init)
                ?? ""
            #expect(rejection.contains("\(tee.configFile):6:"), "\(rejection)")
            #expect(rejection.contains("listeners[0].balance"), "\(rejection)")
            #expect(rejection.contains("keeping the running configuration"), "\(rejection)")
            #expect(rejection.contains("error"), "logged at error level: \(rejection)")
            let after = try Conversation(port: newPort)
            #expect(try await after.send(key: "k4", value: 4, replyLength: replyB.count) == replyB)
            try await newRiemann.waitUntil { Self.services($0).contains("y.k4") }
            #expect(!LoopbackPort.isAccepting(oldPort))
            after.socket.close()

            let metrics = try MetricsScrape.get(port: admin)
            #expect(metrics.value("zabbix_tee_config_reloads_total", [("result", "success")]) == 1)
            #expect(metrics.value("zabbix_tee_config_reloads_total", [("result", "failure")]) == 1)
            #expect(metrics.value("zabbix_tee_config_last_reload_successful") == 0)
            #expect(metrics.value("zabbix_tee_config_last_reload_success_timestamp_seconds") > 1_700_000_000)
            #expect(
                metrics.value("zabbix_tee_target_healthy", [("listener", "agents"), ("target", "127.0.0.1:\(b.port)")])
                    == 1
            )
            #expect(metrics.value("zabbix_tee_riemann_connected", [("server", "127.0.0.1:\(newRiemann.port)")]) == 1)
            #expect(try await tee.stop() == 0)
        } catch {
            _ = try? await tee.stop()
            throw error
        }
        await riemann.shutdown()
        await newRiemann.shutdown()
        a.stop()
        b.stop()
    }

    @Test func aRemovedListenerLetsItsTransferFinishWhileAnAddedOneIsBound() async throws {
        let pattern = PayloadPattern.shared
        let total = 64 << 20
        // The bulk target reads slowly: the transfer takes a few seconds.
        let bulk = try SlowBulkTarget(total: total, pause: .milliseconds(4))
        let greeter = try BlockingListener()
        let greeting = TestThreads.start {
            while let socket = try? greeter.accept() {
                try? socket.send("extra")
                socket.close()
            }
        }
        let bulkPort = try LoopbackPort.free()
        let extraPort = try LoopbackPort.free()
        let tee = try await TeeProcess.start(
            configuration: """
                listeners:
                \(TeeProcess.listener(name: "bulk", port: bulkPort, targets: [bulk.port], extra: ["decode: false"]))
                """,
            ports: [bulkPort]
        )
        do {
            let client = TestThreads.start { () throws -> [UInt8] in
                let socket = try BlockingSocket.connect(port: bulkPort)
                socket.setReceiveTimeout(seconds: 60)
                try pattern.send(seed: 11, length: total, on: socket)
                return try socket.receiveAll()
            }
            try await waitUntil("the bulk transfer under way", timeout: .seconds(20)) { bulk.receivedBytes > 0 }
            try tee.rewriteConfiguration(
                """
                listeners:
                \(TeeProcess.listener(name: "extra", port: extraPort, targets: [greeter.port], extra: ["decode: false"]))
                """
            )
            try await tee.reload(expectingOutcome: 1)
            #expect(bulk.received == nil, "the transfer was still under way during the reload")
            #expect(
                tee.log().contains("configuration reloaded: listeners added: extra; listeners removed: bulk"),
                "\(tee.log())"
            )
            #expect(!LoopbackPort.isAccepting(bulkPort), "the removed listener takes no new connections")
            let answer = try await TestThreads.start { () throws -> [UInt8] in
                let socket = try BlockingSocket.connect(port: extraPort)
                socket.setReceiveTimeout(seconds: 10)
                defer { socket.close() }
                return try socket.receiveAll()
            }.value
            #expect(answer == Array("extra".utf8))
            #expect(try await client.value == Array("done".utf8), "the transfer finished and its reply arrived")
            #expect(bulk.received == pattern.checksum(seed: 11, length: total), "byte for byte")
            #expect(try await tee.stop() == 0)
        } catch {
            _ = try? await tee.stop()
            throw error
        }
        bulk.close()
        greeter.close()
        _ = greeting
    }

    @Test func anAddedAddressThatCannotBeBoundFailsTheReloadAndIsRetriedByTheNextOne() async throws {
        let greeter = try BlockingListener()
        let greeting = TestThreads.start {
            while let socket = try? greeter.accept() {
                try? socket.send("hi")
                socket.close()
            }
        }
        let port = try LoopbackPort.free()
        let admin = try LoopbackPort.free()
        let occupied = try BlockingListener()  // holds the address the reload adds
        var occupiedOpen = true
        func configuration(_ ports: [Int]) -> String {
            """
            listeners:
              - name: agents
                listen: [\(ports.map { "\"127.0.0.1:\($0)\"" }.joined(separator: ", "))]
                targets: ["127.0.0.1:\(greeter.port)"]
                decode: false
            admin:
              listen: "127.0.0.1:\(admin)"
            """
        }
        let tee = try await TeeProcess.start(configuration: configuration([port]), ports: [port, admin])
        do {
            try tee.rewriteConfiguration(configuration([port, occupied.port]))
            try await tee.reload(expectingOutcome: 1)
            #expect(
                tee.log().contains(
                    "configuration reloaded with errors: listener agents: listen; could not bind: listener agents: cannot listen on 127.0.0.1:\(occupied.port)"
                ),
                "\(tee.log())"
            )
            #expect(LoopbackPort.isAccepting(port), "the address that stays is still served")
            var metrics = try MetricsScrape.get(port: admin)
            #expect(metrics.value("zabbix_tee_config_reloads_total", [("result", "failure")]) == 1)
            #expect(metrics.value("zabbix_tee_config_last_reload_successful") == 0)

            let freed = occupied.port
            occupied.close()
            occupiedOpen = false
            try await tee.reload(expectingOutcome: 2)  // the same file: nothing changed, but the address is bound now
            #expect(tee.log().contains("configuration reloaded: no change"), "\(tee.log())")
            let answer = try await TestThreads.start { () throws -> [UInt8] in
                let socket = try BlockingSocket.connect(port: freed)
                socket.setReceiveTimeout(seconds: 10)
                defer { socket.close() }
                return try socket.receiveAll()
            }.value
            #expect(answer == Array("hi".utf8))
            metrics = try MetricsScrape.get(port: admin)
            #expect(metrics.value("zabbix_tee_config_reloads_total", [("result", "success")]) == 1)
            #expect(metrics.value("zabbix_tee_config_last_reload_successful") == 1)
            #expect(try await tee.stop() == 0)
        } catch {
            _ = try? await tee.stop()
            if occupiedOpen { occupied.close() }
            greeter.close()
            throw error
        }
        greeter.close()
        _ = greeting
    }
}
