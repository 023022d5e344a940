import Admin
import Logging
import NIOCore
import NIOPosix
import Synchronization
import Testing
import TestSupport

#if canImport(Glibc)
import Glibc
#endif

/// The HTTP side: routes, status codes, keep-alive, limits, shutdown.
@Suite(.timeLimit(.minutes(1))) struct AdminServerTests {
    /// A flag the test flips and the server reads.
    final class Flag: Sendable {
        private let value: Atomic<Bool>
        init(_ initial: Bool) { self.value = Atomic(initial) }
        var isSet: Bool { self.value.load(ordering: .relaxed) }
        func set(_ newValue: Bool) { self.value.store(newValue, ordering: .relaxed) }
    }

    static let logger: Logger = {
        var logger = Logger(label: "admin-test")
        logger.logLevel = .critical
        return logger
    }()

    static func startServer(
        exporter: MetricsExporter = MetricsExporter(), healthy: Flag = Flag(true), ready: Flag = Flag(true),
        configure: (inout AdminServer.Configuration) -> Void = { _ in }
    ) async throws -> (AdminServer, Int) {
        var configuration = AdminServer.Configuration(host: "127.0.0.1", port: 0)
        configure(&configuration)
        let server = AdminServer(
            configuration: configuration, exporter: exporter, healthy: { healthy.isSet }, ready: { ready.isSet },
            logger: Self.logger)
        try await server.start()
        return (server, try #require(server.localAddress?.port))
    }

    @Test func defaultAddressIsLoopbackPort9810() {
        let configuration = AdminServer.Configuration()
        #expect(configuration.host == "127.0.0.1")
        #expect(configuration.port == 9810)
    }

    @Test func healthFollowsItsClosure() async throws {
        let healthy = Flag(true)
        let (server, port) = try await Self.startServer(healthy: healthy)
        let up = try await HTTPTestClient.get(port: port, "/health")
        #expect(up.status == 200)
        #expect(up.body == "ok\n")
        healthy.set(false)
        let down = try await HTTPTestClient.get(port: port, "/health")
        #expect(down.status == 503)
        healthy.set(true)
        #expect(try await HTTPTestClient.get(port: port, "/health").status == 200)
        await server.shutdown()
    }

    @Test func readyFollowsItsClosureIndependentlyOfHealth() async throws {
        let ready = Flag(false)
        let (server, port) = try await Self.startServer(ready: ready)
        #expect(try await HTTPTestClient.get(port: port, "/ready").status == 503)
        #expect(try await HTTPTestClient.get(port: port, "/health").status == 200)
        ready.set(true)
        let response = try await HTTPTestClient.get(port: port, "/ready")
        #expect(response.status == 200)
        #expect(response.body == "ok\n")
        await server.shutdown()
    }

    @Test func metricsUseTheVersionedTextContentType() async throws {
        let exporter = MetricsExporter()
        exporter.register { $0.gauge("demo_gauge", help: "Demo.", value: 3) }
        let (server, port) = try await Self.startServer(exporter: exporter)
        let response = try await HTTPTestClient.get(port: port, "/metrics?name[]=x")
        #expect(response.status == 200)
        #expect(response.header("Content-Type") == "text/plain; version=0.0.4; charset=utf-8")
        #expect(response.body == "# HELP demo_gauge Demo.\n# TYPE demo_gauge gauge\ndemo_gauge 3\n")
        await server.shutdown()
    }

    @Test func aSlowMetricsSourceDoesNotHoldUpTheEventLoop() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let exporter = MetricsExporter()
        exporter.register { snapshot in
            usleep(600_000)
            snapshot.gauge("slow", help: "Slow.", value: 1)
        }
        let server = AdminServer(
            configuration: .init(host: "127.0.0.1", port: 0), exporter: exporter, group: group, logger: Self.logger)
        try await server.start()
        let port = try #require(server.localAddress?.port)
        let slow = TestThreads.start { try HTTPTestClient(port: port).request("GET", "/metrics") }
        usleep(100_000)  // the scrape is under way
        let clock = ContinuousClock()
        let started = clock.now
        let health = try await HTTPTestClient.get(port: port, "/health")
        let elapsed = clock.now - started
        #expect(health.status == 200)
        #expect(elapsed < .milliseconds(400), "health answered after \(elapsed) while /metrics rendered")
        #expect(try await slow.value.body.contains("slow 1"))
        await server.shutdown()
        try await group.shutdownGracefully()
    }

    @Test func unknownPathsGet404AndOtherMethodsGet405() async throws {
        let (server, port) = try await Self.startServer()
        #expect(try await HTTPTestClient.get(port: port, "/").status == 404)
        #expect(try await HTTPTestClient.get(port: port, "/metrics/").status == 404)
        #expect(try await HTTPTestClient.get(port: port, "/nope", method: "POST").status == 404)
        for method in ["POST", "PUT", "DELETE", "OPTIONS"] {
            let response = try await HTTPTestClient.get(port: port, "/metrics", method: method)
            #expect(response.status == 405, "\(method)")
            #expect(response.header("Allow") == "GET, HEAD")
        }
        await server.shutdown()
    }

    @Test func headAnswersWithTheHeadersOfGetAndNoBody() async throws {
        let exporter = MetricsExporter()
        exporter.register { $0.gauge("demo_gauge", help: "Demo.", value: 3) }
        let (server, port) = try await Self.startServer(exporter: exporter)
        let (head, next) = try await TestThreads.start { () throws -> (HTTPTestClient.Response, HTTPTestClient.Response) in
            let client = try HTTPTestClient(port: port)
            // If HEAD sent a body, the next response would not parse.
            return (try client.request("HEAD", "/metrics"), try client.request("GET", "/health"))
        }.value
        #expect(head.status == 200)
        #expect(head.header("Content-Length") == "\("# HELP demo_gauge Demo.\n# TYPE demo_gauge gauge\ndemo_gauge 3\n".utf8.count)")
        #expect(head.body.isEmpty)
        #expect(next.status == 200)
        #expect(next.body == "ok\n")
        await server.shutdown()
    }

    @Test func keepAliveServesManyRequestsOnOneConnectionAndPipelinedOnesInOrder() async throws {
        let (server, port) = try await Self.startServer(ready: Flag(false))
        let statuses = try await TestThreads.start { () throws -> [Int] in
            let client = try HTTPTestClient(port: port)
            var statuses: [Int] = []
            for path in ["/health", "/metrics", "/ready", "/x"] {
                statuses.append(try client.request("GET", path).status)
            }
            // Pipelined: three requests in one write, three responses in order.
            try client.socket.send(
                "GET /ready HTTP/1.1\r\nHost: a\r\n\r\nGET /health HTTP/1.1\r\nHost: a\r\n\r\nGET /y HTTP/1.1\r\nHost: a\r\n\r\n")
            for _ in 0..<3 { statuses.append(try client.readResponse().status) }
            return statuses
        }.value
        #expect(statuses == [200, 200, 503, 404, 503, 200, 404])
        await server.shutdown()
    }

    @Test func connectionCloseAndHTTP10AreHonoured() async throws {
        let (server, port) = try await Self.startServer()
        let (closeResponse, closedAfterClose, http10Response, closedAfter10) = try await TestThreads.start {
            () throws -> (HTTPTestClient.Response, Bool, HTTPTestClient.Response, Bool) in
            let first = try HTTPTestClient(port: port)
            let closeResponse = try first.request("GET", "/health", headers: ["Connection: close"])
            let second = try HTTPTestClient(port: port)
            let http10Response = try second.request("GET", "/health", version: "HTTP/1.0")
            return (closeResponse, first.isClosedByServer(), http10Response, second.isClosedByServer())
        }.value
        #expect(closeResponse.header("Connection") == "close")
        #expect(closedAfterClose)
        #expect(http10Response.status == 200)
        #expect(closedAfter10)
        await server.shutdown()
    }

    @Test func oversizedBodiesGet413AndTheConnectionIsClosed() async throws {
        let (server, port) = try await Self.startServer { $0.maximumRequestBodyBytes = 100 }
        let (small, large, closed) = try await TestThreads.start {
            () throws -> (HTTPTestClient.Response, HTTPTestClient.Response, Bool) in
            let client = try HTTPTestClient(port: port)
            let small = try client.request("GET", "/health", body: String(repeating: "a", count: 100))
            let large = try client.request("GET", "/health", body: String(repeating: "b", count: 5000))
            return (small, large, client.isClosedByServer())
        }.value
        #expect(small.status == 200)
        #expect(large.status == 413)
        #expect(closed)
        await server.shutdown()
    }

    @Test func malformedRequestsGet400() async throws {
        let (server, port) = try await Self.startServer()
        let (status, closed) = try await TestThreads.start { () throws -> (Int, Bool) in
            let client = try HTTPTestClient(port: port)
            try client.socket.send("THIS IS NOT HTTP\r\n\r\n")
            return (try client.readResponse().status, client.isClosedByServer())
        }.value
        #expect(status == 400)
        #expect(closed)
        await server.shutdown()
    }

    @Test func idleConnectionsAreClosed() async throws {
        let (server, port) = try await Self.startServer { $0.idleTimeout = .milliseconds(200) }
        let closed = try await TestThreads.start { () throws -> Bool in
            let client = try HTTPTestClient(port: port)
            _ = try client.request("GET", "/health")
            return client.isClosedByServer()
        }.value
        #expect(closed)
        await server.shutdown()
    }

    @Test func shutdownClosesKeptAliveConnectionsAndStopsListening() async throws {
        let (server, port) = try await Self.startServer()
        let client = try await TestThreads.start { () throws -> HTTPTestClient in
            let client = try HTTPTestClient(port: port)
            _ = try client.request("GET", "/health")
            return client
        }.value
        await server.shutdown()
        let closed = try await TestThreads.start { client.isClosedByServer() }.value
        #expect(closed)
        #expect(throws: (any Error).self) { try BlockingSocket.connect(port: port) }
        await server.shutdown()  // twice is fine
    }

    @Test func connectionsBeyondTheLimitAreClosedAndOthersKeepWorking() async throws {
        let (server, port) = try await Self.startServer { $0.maximumConnections = 2 }
        let (kept, thirdClosed, fourth) = try await TestThreads.start { () throws -> ([Int], Bool, Int) in
            let first = try HTTPTestClient(port: port)
            let second = try HTTPTestClient(port: port)
            let kept = [try first.request("GET", "/health").status, try second.request("GET", "/health").status]
            let third = try HTTPTestClient(port: port)
            let thirdClosed = third.isClosedByServer()
            first.socket.close()
            // The slot frees once the server sees the close; retry briefly.
            var status = 0
            for _ in 0..<100 where status == 0 {
                if let response = try? HTTPTestClient(port: port).request("GET", "/ready") {
                    status = response.status
                } else {
                    usleep(10_000)
                }
            }
            return (kept, thirdClosed, status)
        }.value
        #expect(kept == [200, 200])
        #expect(thirdClosed)
        #expect(fourth == 200)
        await server.shutdown()
    }

    @Test func bindFailureNamesTheAddress() async throws {
        let (first, port) = try await Self.startServer()
        let second = AdminServer(configuration: .init(host: "127.0.0.1", port: port), exporter: MetricsExporter())
        await #expect(throws: AdminServer.BindError.self) { try await second.start() }
        try await first.start()  // already started: nothing happens
        #expect(first.localAddress?.port == port)
        await first.shutdown()
        try await second.start()  // the port is free again; a failed start can be retried
        #expect(second.localAddress?.port == port)
        await second.shutdown()
    }
}
