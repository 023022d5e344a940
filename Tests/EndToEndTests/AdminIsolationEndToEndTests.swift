import Dispatch
import Foundation
import Logging
import NIOCore
import NIOPosix
import Tee
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The admin endpoint answers whatever its clients and the data plane do: idle sockets and a
/// slow-loris client cannot lock a probe out, and a relay event loop that is busy (here: blocked
/// outright) does not delay `/health`.
@Suite("admin isolation", .tags(.integration), .tier(.integration), .timeLimit(.minutes(2)))
struct AdminIsolationEndToEndTests {
    /// Against the real binary with its default admin limits: 100 sockets that never send a
    /// byte, and one trickling a request a byte every 200 ms. `/health` and `/metrics` answer,
    /// and the trickling request is closed before it completes (its bytes keep arriving, so an
    /// idle timer alone would never fire). Before, 32 idle sockets made both refuse.
    @Test func idleSocketsAndASlowLorisDoNotLockOutHealth() async throws {
        let target = try EchoTarget()
        defer { target.stop() }
        let (port, admin) = (try LoopbackPort.free(), try LoopbackPort.free())
        let tee = try await TeeProcess.start(
            configuration: """
                listeners:
                \(TeeProcess.listener(name: "agents", port: port, targets: [target.port]))
                admin:
                  listen: "127.0.0.1:\(admin)"
                """,
            ports: [port, admin]
        )
        do {
            let idle = try await TestThreads.start { () throws -> [BlockingSocket] in
                try (0..<100).map { _ in try BlockingSocket.connect(port: admin) }
            }.value
            let slowLoris = TestThreads.start { () throws -> (sent: Int, of: Int) in
                let socket = try BlockingSocket.connect(port: admin)
                defer { socket.close() }
                let request = Array(
                    "GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: \(String(repeating: "s", count: 60))\r\n\r\n"
                        .utf8
                )
                // Paced input (about 20 s for the whole request), not synchronisation.
                for (index, byte) in request.enumerated() {
                    guard (try? socket.send([byte])) != nil else { return (index, request.count) }
                    var readable = pollfd(fd: socket.fd, events: Int16(POLLIN), revents: 0)
                    if poll(&readable, 1, 200) > 0 { return (index + 1, request.count) }  // closed (EOF) or answered
                }
                return (request.count, request.count)
            }
            let health = try await TestThreads.start { try MetricsScrape.get(port: admin, path: "/health") }.value
            #expect(health.text == "ok\n")
            let metrics = try await TestThreads.start { try MetricsScrape.get(port: admin) }.value
            #expect(metrics.value("zabbix_tee_connections_total", [("listener", "agents")]) >= 1)
            let (sent, total) = try await slowLoris.value
            #expect(sent < total, "the slow request was closed before it was complete (\(sent) of \(total) bytes)")
            for socket in idle { socket.close() }
            #expect(try await EchoTarget.echo("still relaying", on: try BlockingSocket.connect(port: port)))
        } catch {
            _ = try? await tee.stop()
            throw error
        }
        #expect(try await tee.stop() == 0)
    }

    /// The only relay event loop is blocked (a stand-in for a data plane saturated to the last
    /// cycle): `/health` is answered all the same, because the admin endpoint runs on an event
    /// loop of its own.
    @Test func healthAnswersWhileTheRelayEventLoopIsBlocked() async throws {
        let target = try EchoTarget()
        defer { target.stop() }
        let (port, admin) = (try LoopbackPort.free(), try LoopbackPort.free())
        let configuration = try ConfigLoader.parse(
            yaml: """
                listeners:
                \(TeeProcess.listener(name: "agents", port: port, targets: [target.port]))
                admin:
                  listen: "127.0.0.1:\(admin)"
                """,
            file: "in-process.yaml"
        )
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        var logger = Logger(label: "admin-isolation")
        logger.logLevel = .critical
        let daemon = TeeDaemon(configuration: configuration, group: group, logger: logger)
        let services = daemon.makeServiceGroup(gracefulShutdownSignals: [])
        let running = Task { try await services.run() }
        try await waitUntil("the admin endpoint answers", timeout: .seconds(20)) {
            (try? MetricsScrape.get(port: admin, path: "/health").text) == "ok\n"
        }
        let release = DispatchSemaphore(value: 0)
        let blocked = DispatchSemaphore(value: 0)
        group.next().execute {
            blocked.signal()
            _ = release.wait(timeout: .now() + .seconds(60))
        }
        let health = try await TestThreads.start { () -> String in
            guard blocked.wait(timeout: .now() + .seconds(20)) == .success else { return "the loop was never blocked" }
            do {
                return try MetricsScrape.get(port: admin, path: "/health").text
            } catch {
                return "\(error)"
            }
        }.value
        release.signal()
        #expect(health == "ok\n")
        await services.triggerGracefulShutdown()
        try await running.value
        try await group.shutdownGracefully()
    }
}
