import Admin
import Dispatch
import Logging
import NIOCore
import NIOPosix
import Synchronization
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The HTTP side: routes, status codes, keep-alive, limits, shutdown.
@Suite(.tags(.integration), .tier(.integration), .timeLimit(.minutes(1))) struct AdminServerTests {
    /// A flag the test flips and the server reads.
    final class Flag: Sendable {
        private let value: Atomic<Bool>
        init(_ initial: Bool) { self.value = Atomic(initial) }
        var isSet: Bool { self.value.load(ordering: .relaxed) }
        func set(_ newValue: Bool) { self.value.store(newValue, ordering: .relaxed) }
    }

    /// A count the server bumps and the test reads.
    final class Counter: Sendable {
        private let value = Atomic<Int>(0)
        var count: Int { self.value.load(ordering: .relaxed) }
        func increment() { self.value.add(1, ordering: .relaxed) }
    }

    static let logger: Logger = {
        var logger = Logger(label: "admin-test")
        logger.logLevel = .critical
        return logger
    }()

    static func startServer(
        exporter: MetricsExporter = MetricsExporter(),
        healthy: Flag = Flag(true),
        ready: Flag = Flag(true),
        configure: (inout AdminServer.Configuration) -> Void = { _ in }
    ) async throws -> (AdminServer, Int) {
        var configuration = AdminServer.Configuration(host: "127.0.0.1", port: 0)
        configure(&configuration)
        let server = AdminServer(
            configuration: configuration,
            exporter: exporter,
            healthy: { healthy.isSet },
            ready: {
                ready.isSet
                    ? .ready
                    : AdminServer.Readiness(problems: ["riemann: not connected", "listener a: no healthy target"])
            },
            logger: Self.logger
        )
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
        let notReady = try await HTTPTestClient.get(port: port, "/ready")
        #expect(notReady.status == 503)
        #expect(
            notReady.body == "not ready\nriemann: not connected\nlistener a: no healthy target\n",
            "one problem a line"
        )
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

    @Test func theStatusPageIsHTMLFromTheSameSourcesThatMayLoadNothingElse() async throws {
        let exporter = MetricsExporter()
        exporter.register {
            $0.counter("zabbix_tee_demo_total", help: "Demo.", labels: [.init("listener", "a&b")], value: 12345)
        }
        let (server, port) = try await Self.startServer(exporter: exporter)
        let response = try await HTTPTestClient.get(port: port, "/?refresh=10")
        #expect(response.status == 200)
        #expect(response.header("Content-Type") == "text/html; charset=utf-8")
        #expect(response.header("Content-Security-Policy")?.hasPrefix("default-src 'none'") == true)
        #expect(response.header("Cache-Control") == "no-store")
        #expect(response.body.contains("<meta http-equiv=\"refresh\" content=\"10\">"))
        let cells = StatusPageCells(html: response.body)
        #expect(cells.cells(#"zabbix_tee_demo_total{listener="a&b"}"#).map(\.value) == ["12345"])
        let head = try await HTTPTestClient.get(port: port, "/", method: "HEAD")
        #expect(head.status == 200)
        #expect(head.body.isEmpty)
        #expect(try await HTTPTestClient.get(port: port, "/", method: "POST").status == 405)
        await server.shutdown()
    }

    /// Order, not timing: the source does not return until the test has its `/health` answer, so
    /// that answer can only come while `/metrics` is still rendering. Were the scrape run on the
    /// (only) event loop, `/health` could not be answered before the source gives up waiting.
    @Test func aSlowMetricsSourceDoesNotHoldUpTheEventLoop() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let scrapeStarted = DispatchSemaphore(value: 0)
        let healthAnswered = DispatchSemaphore(value: 0)
        let sourceGaveUp = Flag(false)
        let exporter = MetricsExporter()
        exporter.register { snapshot in
            scrapeStarted.signal()
            // Generous: only reached if /health cannot be answered (a blocked loop); the test then
            // fails instead of hanging.
            if healthAnswered.wait(timeout: .now() + .seconds(20)) == .timedOut {
                sourceGaveUp.set(true)
            }
            snapshot.gauge("slow", help: "Slow.", value: 1)
        }
        let server = AdminServer(
            configuration: .init(host: "127.0.0.1", port: 0),
            exporter: exporter,
            group: group,
            logger: Self.logger
        )
        try await server.start()
        let port = try #require(server.localAddress?.port)
        let slow = TestThreads.start { try HTTPTestClient(port: port).request("GET", "/metrics") }
        let scraping = try await TestThreads.start { scrapeStarted.wait(timeout: .now() + .seconds(20)) == .success }
            .value
        try #require(scraping, "the scrape never reached the metrics source")

        let health: Result<HTTPTestClient.Response, any Error>
        do {
            health = .success(try await HTTPTestClient.get(port: port, "/health"))
        } catch {
            health = .failure(error)
        }
        let metricsAnsweredFirst = slow.isFinished
        healthAnswered.signal()
        switch health {
        case .success(let response):
            #expect(response.status == 200)
        case .failure(let error):
            Issue.record("/health was not answered while /metrics was rendering: \(error)")
        }
        #expect(!metricsAnsweredFirst)
        #expect(!sourceGaveUp.isSet, "/health was answered only after the source stopped waiting for it")
        #expect(try await slow.value.body.contains("slow 1"))
        await server.shutdown()
        try await group.shutdownGracefully()
    }

    @Test func unknownPathsGet404AndOtherMethodsGet405() async throws {
        let (server, port) = try await Self.startServer()
        #expect(try await HTTPTestClient.get(port: port, "/status").status == 404)
        #expect(try await HTTPTestClient.get(port: port, "/index.html").status == 404)
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
        let (head, next) = try await TestThreads.start {
            () throws -> (HTTPTestClient.Response, HTTPTestClient.Response) in
            let client = try HTTPTestClient(port: port)
            // If HEAD sent a body, the next response would not parse.
            return (try client.request("HEAD", "/metrics"), try client.request("GET", "/health"))
        }.value
        #expect(head.status == 200)
        #expect(
            head.header("Content-Length")
                == "\("# HELP demo_gauge Demo.\n# TYPE demo_gauge gauge\ndemo_gauge 3\n".utf8.count)"
        )
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
                "GET /ready HTTP/1.1\r\nHost: a\r\n\r\nGET /health HTTP/1.1\r\nHost: a\r\n\r\nGET /y HTTP/1.1\r\nHost: a\r\n\r\n"
            )
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
        // Long enough that a descheduled client thread cannot turn "idle after a request" into
        // "closed before the request"; the close is awaited with the client's 10 s receive timeout.
        let (server, port) = try await Self.startServer { $0.requestTimeout = .seconds(1) }
        let closed = try await TestThreads.start { () throws -> Bool in
            let client = try HTTPTestClient(port: port)
            _ = try client.request("GET", "/health")
            return client.isClosedByServer()
        }.value
        #expect(closed)
        await server.shutdown()
    }

    /// "Stopped listening" is not "connecting to the port fails". Once the port is free, another
    /// socket may take the number. And a program another test spawns meanwhile inherits our
    /// listening socket (NIO does not set close-on-exec), which then accepts connects until it
    /// exits. What is checked instead: this process no longer holds the listening socket, and a
    /// new connection to the port is not served by this server.
    @Test func shutdownClosesKeptAliveConnectionsAndStopsListening() async throws {
        let served = Counter()
        // Below the ephemeral range: no other socket gets this number from the kernel meanwhile.
        let server = AdminServer(
            configuration: .init(host: "127.0.0.1", port: try LoopbackPort.free()),
            exporter: MetricsExporter(),
            healthy: {
                served.increment()
                return true
            },
            logger: Self.logger
        )
        try await server.start()
        let port = try #require(server.localAddress?.port)
        #if os(Linux)
        let listeners = try #require(TCPSocketTable.listeningInodes(port: port))
        try #require(listeners.count == 1, "one socket listens on \(port): \(listeners)")
        #expect(TCPSocketTable.isOpenInThisProcess(inode: listeners[0]) == true)
        #endif
        let client = try await TestThreads.start { () throws -> HTTPTestClient in
            let client = try HTTPTestClient(port: port)
            _ = try client.request("GET", "/health")
            return client
        }.value
        #expect(served.count == 1)

        await server.shutdown()
        let closed = try await TestThreads.start { client.isClosedByServer() }.value
        #expect(closed)
        #expect(server.localAddress == nil)
        #if os(Linux)
        #expect(TCPSocketTable.isOpenInThisProcess(inode: listeners[0]) == false, "the listening socket is still open")
        #endif
        // Refused, normally. If a spawned program holds a copy of the socket, or another program took
        // the port, the connect succeeds, but this server must not answer.
        try await TestThreads.start { () -> Void in
            guard let probe = try? HTTPTestClient(port: port) else { return }
            probe.socket.setReceiveTimeout(seconds: 2)
            _ = try? probe.request("GET", "/health")
        }.value
        #expect(served.count == 1, "a request after shutdown was served")
        await server.shutdown()  // twice is fine
    }

    /// Every slot is answering a request (their `/metrics` sources are held): a new connection is
    /// closed at once; once the answers are out, new connections are served again.
    @Test func connectionsBeyondTheLimitAreClosedWhileEverySlotIsAnsweringAndOthersKeepWorking() async throws {
        let scrapes = DispatchSemaphore(value: 0)
        let release = DispatchSemaphore(value: 0)
        let exporter = MetricsExporter()
        exporter.register { snapshot in
            scrapes.signal()
            _ = release.wait(timeout: .now() + .seconds(30))
            snapshot.gauge("held", help: "Held.", value: 1)
        }
        // A pool of its own: the held scrapes must not occupy threads other tests render on.
        let pool = NIOThreadPool(numberOfThreads: 2)
        pool.start()
        var configuration = AdminServer.Configuration(host: "127.0.0.1", port: 0)
        configuration.maximumConnections = 2
        let server = AdminServer(
            configuration: configuration,
            exporter: exporter,
            threadPool: pool,
            logger: Self.logger
        )
        try await server.start()
        let port = try #require(server.localAddress?.port)
        let held = (0..<2).map { _ in TestThreads.start { try HTTPTestClient(port: port).request("GET", "/metrics") } }
        for _ in 0..<2 {
            let started = try await TestThreads.start { scrapes.wait(timeout: .now() + .seconds(20)) == .success }.value
            try #require(started, "both scrapes reached the source")
        }
        let refused = try await TestThreads.start { () throws -> Bool in
            try HTTPTestClient(port: port).isClosedByServer()
        }.value
        #expect(refused, "closed at once: both slots are answering")
        release.signal()
        release.signal()
        for scrape in held { #expect(try await scrape.value.status == 200) }
        #expect(try await HTTPTestClient.get(port: port, "/ready").status == 200)
        await server.shutdown()
        try await pool.shutdownGracefully()
    }

    /// Idle keep-alive connections hold every slot: a new connection is served all the same, in
    /// the slot of the one that waited longest, which is closed; the other keeps working.
    @Test func idleConnectionsGiveTheirSlotToNewOnes() async throws {
        let (server, port) = try await Self.startServer {
            $0.maximumConnections = 2
            $0.requestTimeout = .seconds(60)  // only the eviction can close them within the test
        }
        let (third, firstClosed, second) = try await TestThreads.start { () throws -> (Int, Bool, Int) in
            let first = try HTTPTestClient(port: port)
            _ = try first.request("GET", "/health")
            let second = try HTTPTestClient(port: port)
            _ = try second.request("GET", "/health")
            let third = try HTTPTestClient(port: port).request("GET", "/health").status
            return (third, first.isClosedByServer(), try second.request("GET", "/ready").status)
        }.value
        #expect(third == 200)
        #expect(firstClosed, "the longest-waiting connection made room")
        #expect(second == 200)
        await server.shutdown()
    }

    /// 100 sockets that never send a byte: /health is answered all the same (before, 32 of them
    /// made the endpoint refuse every probe until they left).
    @Test func aHundredIdleSocketsDoNotLockOutHealth() async throws {
        let (server, port) = try await Self.startServer()
        let idle = try await TestThreads.start { () throws -> [BlockingSocket] in
            try (0..<100).map { _ in try BlockingSocket.connect(port: port) }
        }.value
        let health = try await HTTPTestClient.get(port: port, "/health")
        #expect(health.status == 200)
        for socket in idle { socket.close() }
        await server.shutdown()
    }

    /// A request trickled in a byte at a time never completes within the request deadline: the
    /// connection is closed although bytes keep arriving (an idle timer would be reset by each).
    @Test func aSlowLorisRequestIsClosedAtTheRequestDeadline() async throws {
        let (server, port) = try await Self.startServer { $0.requestTimeout = .seconds(1) }
        let (answered, closed) = try await TestThreads.start { () throws -> (Bool, Bool) in
            let client = try HTTPTestClient(port: port)
            let request = Array(
                "GET /health HTTP/1.1\r\nHost: localhost\r\nX-Padding: \(String(repeating: "a", count: 40))\r\n\r\n"
                    .utf8
            )
            // Paced input, not synchronisation: 50 bytes over about 5 s, well past the 1 s deadline.
            for byte in request {
                do { try client.socket.send([byte]) } catch { return (false, true) }
                usleep(100_000)
            }
            guard let response = try? client.readResponse() else { return (false, true) }
            return (response.status == 200, false)
        }.value
        #expect(!answered)
        #expect(closed)
        await server.shutdown()
    }

    @Test func bindFailureNamesTheAddress() async throws {
        // Not a kernel-chosen port: between `first` letting it go and `second` binding it, the
        // kernel could give a number from its ephemeral range to another socket (a connection's
        // source port, another test's listener). LoopbackPort's ports lie below that range.
        let port = try LoopbackPort.free()
        let (first, _) = try await Self.startServer { $0.port = port }
        let second = AdminServer(configuration: .init(host: "127.0.0.1", port: port), exporter: MetricsExporter())
        let failure = await #expect(throws: AdminServer.BindError.self) { try await second.start() }
        #expect(failure?.host == "127.0.0.1")
        #expect(failure?.port == port)
        #expect(failure.map { "\($0)".contains("127.0.0.1:\(port)") } == true)
        try await first.start()  // already started: nothing happens
        #expect(first.localAddress?.port == port)
        await first.shutdown()
        // The port is free again; a failed start can be retried. Retried for a while: a program
        // spawned by another test may have inherited `first`'s listening socket (NIO does not set
        // close-on-exec) and hold the port until it exits.
        let deadline = ContinuousClock.now + .seconds(10)
        while true {
            do {
                try await second.start()
                break
            } catch is AdminServer.BindError where ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(50))
            }
        }
        #expect(second.localAddress?.port == port)
        await second.shutdown()
    }
}
