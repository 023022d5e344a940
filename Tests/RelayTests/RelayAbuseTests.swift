import Foundation
import NIOCore
import TestSupport
import Testing

@testable import Relay

/// Abuse from one source, on real sockets: what one address can hold is bounded (per-source limit,
/// first-byte deadline), trickling does not keep a connection to a server that left, a flood that
/// empties `accept_rate` costs the other sources nothing beyond that bucket, and the process-wide
/// limit holds over all listeners. Different sources are played by loopback addresses.
@Suite(.tags(.integration), .tier(.integration), .serialized, .timeLimit(.minutes(3))) struct RelayAbuseTests {
    let log = CapturedLog()

    /// Opens `count` silent connections from `source`; returns the sockets (admitted or not).
    static func silentSockets(_ count: Int, port: Int, from source: String) async throws -> [BlockingSocket] {
        try await TestThreads.start { () throws -> [BlockingSocket] in
            try (0..<count).map { _ in try BlockingSocket.connect(port: port, from: source) }
        }.value
    }

    @Test func manySilentSocketsFromOneSourceAreCappedAndThenReleasedByTheFirstByteDeadline() async throws {
        let target = try EchoTarget()
        let relay = try await RelayHarness(targets: [target.port], logger: self.log.logger(level: .info)) {
            $0.maxConnectionsPerSource = 50
            // Long enough for all 80 to be accepted and counted before the first is released
            // (800 ms was not under ThreadSanitizer).
            $0.firstByteTimeout = .seconds(3)
        }
        let sockets = try await Self.silentSockets(80, port: relay.port, from: "127.0.0.1")
        #expect(await eventually { relay.statistics.connectionsRefused(.sourceLimit) == 30 })
        #expect(relay.listener.openConnections == 50)
        // Another source is not affected.
        let other = try await EchoTarget.echoingClient(port: relay.port, from: "127.0.0.2")
        #expect(self.log.entries(containing: "per-source connection limit reached").count == 1, "one warning, not 30")
        // The silent ones are closed by the first-byte deadline, and the source gets its places back.
        #expect(await eventually(timeout: 10) { relay.statistics.connectionsTimedOut(.firstByte) == 50 })
        #expect(
            await eventually { relay.listener.admission.openConnections(from: IPAddress(parsing: "127.0.0.1")!) == 0 }
        )
        let again = try await EchoTarget.echoingClient(port: relay.port, from: "127.0.0.1")
        #expect(try await EchoTarget.echo("still", on: other), "the other source's connection was never touched")
        for socket in sockets + [other, again] { socket.close() }
        #expect(try await relay.shutdown())
        target.stop()
    }

    /// A client trickling a byte at a time, well within the idle timeout, to a server that closed
    /// (as a Zabbix server does after its `Timeout`): the bytes after the close make the server's
    /// kernel reset, and the relay lets go instead of holding the connection for as long as the
    /// trickle lasts.
    @Test func tricklingUnderTheIdleTimeoutToAServerThatClosedIsReleased() async throws {
        let target = try BlockingListener()
        let server = TestThreads.start { () throws -> Void in
            let socket = try target.accept()
            socket.setReceiveTimeout(seconds: 10)
            _ = try socket.receive(exactly: 1)
            usleep(300_000)
            socket.close()
        }
        let relay = try await RelayHarness(targets: [target.port]) {
            $0.idleTimeout = .seconds(60)
            $0.clientFinTimeout = .milliseconds(500)
        }
        let port = relay.port
        let trickled = try await TestThreads.start { () throws -> Int in
            let socket = try BlockingSocket.connect(port: port)
            try socket.send("x")
            var count = 1
            // (Admitted once the relay counts it; only then can its release be watched.)
            while relay.listener.openConnections == 0 { usleep(1_000) }
            let started = ContinuousClock.now
            while ContinuousClock.now - started < .seconds(15) {
                guard (try? socket.send("x")) != nil else { break }
                count += 1
                usleep(50_000)
                if relay.listener.openConnections == 0 { break }
            }
            return count
        }.value
        try await server.value
        #expect(await eventually { relay.listener.openConnections == 0 })
        #expect(
            trickled < 100,
            "released within the client FIN timeout after the server left, not kept by the trickle (\(trickled) bytes)"
        )
        #expect(relay.statistics.connectionsTimedOut(.clientFin) == 1)
        #expect(relay.statistics.connectionErrors(readingFrom: .serverToClient) == 1, "the server's reset is counted")
        #expect(try await relay.shutdown())
        target.close()
    }

    @Test func aFloodThatEmptiesTheAcceptRateIsRefusedWithoutTouchingAdmittedConnections() async throws {
        let target = try EchoTarget()
        let relay = try await RelayHarness(targets: [target.port], logger: self.log.logger(level: .info)) {
            $0.acceptRate = AcceptRate(perSecond: 0.01, burst: 5)
        }
        let first = try await EchoTarget.echoingClient(port: relay.port, from: "127.0.0.2")
        let port = relay.port
        // The flood: 40 connections as fast as they go; a refused one is closed at once, an
        // admitted one stays open (the echo target waits for its bytes).
        let outcomes = try await TestThreads.start { () throws -> (refused: Int, admitted: [BlockingSocket]) in
            var refused = 0
            var admitted: [BlockingSocket] = []
            for _ in 0..<40 {
                let socket = try BlockingSocket.connect(port: port, from: "127.0.0.1")
                socket.setReceiveTimeout(seconds: 0.5)
                if (try? socket.receive())?.isEmpty == true { refused += 1 } else { admitted.append(socket) }
            }
            return (refused, admitted)
        }.value
        #expect(outcomes.refused == 36, "four of the flood's connections took the rest of the bucket")
        #expect(relay.statistics.connectionsRefused(.rateLimit) == 36)
        #expect(self.log.entries(containing: "accept rate limit reached").count == 1)
        #expect(try await EchoTarget.echo("untouched", on: first))
        #expect(target.connections == 5)
        first.close()
        for socket in outcomes.admitted { socket.close() }
        #expect(try await relay.shutdown())
        target.stop()
    }

    @Test func theProcessWideLimitHoldsOverAllListeners() async throws {
        let target = try EchoTarget()
        let engine = RelayEngine(threads: 1, maxConnections: 3)
        var listeners: [RelayListener] = []
        for name in ["a", "b"] {
            let listener = RelayListener(
                configuration: RelayListenerConfiguration(
                    name: name,
                    listen: [Endpoint(host: "127.0.0.1", port: 0)],
                    targets: [Endpoint(host: "127.0.0.1", port: target.port)]
                ),
                engine: engine,
                logger: self.log.logger(level: .info)
            )
            try await listener.start()
            listeners.append(listener)
        }
        let ports = listeners.map { $0.localAddresses.first!.port! }
        let held = [
            try await EchoTarget.echoingClient(port: ports[0], from: "127.0.0.1"),
            try await EchoTarget.echoingClient(port: ports[0], from: "127.0.0.1"),
            try await EchoTarget.echoingClient(port: ports[1], from: "127.0.0.1"),
        ]
        #expect(try await EchoTarget.closedAtOnce(port: ports[1], from: "127.0.0.1"))
        #expect(try await EchoTarget.closedAtOnce(port: ports[0], from: "127.0.0.1"))
        #expect(listeners[1].statistics.connectionsRefused(.processLimit) == 1)
        #expect(listeners[0].statistics.connectionsRefused(.processLimit) == 1)
        #expect(
            self.log.entries(containing: "process-wide connection limit reached").first?.metadata[
                "process_max_connections"
            ] == "3"
        )
        held[0].close()
        #expect(await eventually { engine.budget?.inUse == 2 })
        let after = try await EchoTarget.echoingClient(port: ports[1], from: "127.0.0.1")
        for socket in held + [after] { socket.close() }
        for listener in listeners { await listener.stopAccepting() }
        #expect(await listeners[0].waitForConnectionsToClose(timeout: .seconds(10)))
        #expect(await listeners[1].waitForConnectionsToClose(timeout: .seconds(10)))
        await engine.shutdown()
        target.stop()
    }

    @Test func aWarningThatFiresPerConnectionIsLoggedOncePerInterval() async throws {
        let relay = try await RelayHarness(
            targets: [try BlockingListener.refusingPort()],
            logger: self.log.logger(level: .info)
        ) { $0.refusalLogInterval = .seconds(60) }
        for _ in 0..<10 { #expect(try await EchoTarget.closedAtOnce(port: relay.port, from: "127.0.0.1")) }
        #expect(relay.statistics.connectionsWithoutTarget == 10)
        #expect(self.log.entries(containing: "target connect failed").count == 1)
        #expect(self.log.entries(containing: "no target accepted the connection").count == 1)
        #expect(try await relay.shutdown())
    }
}

/// What the relay's event loop relies on from the kernel, checked on real sockets.
@Suite(.tags(.integration), .tier(.integration)) struct ListeningSocketTests {
    /// The relay sets `TCP_NODELAY` once on the listening socket instead of on every accepted one:
    /// Linux copies it to the accepted sockets.
    @Test func acceptedSocketsInheritTCPNoDelayAndBufferSizesFromTheListeningSocket() throws {
        let listening = try ListeningSocket.open(
            Endpoint(host: "127.0.0.1", port: 0),
            backlog: 8,
            socketBufferSize: 96 << 10,
            deferAccept: nil
        )
        defer { listening.close() }
        let client = try BlockingSocket.connect(port: listening.localAddress!.port!)
        defer { client.close() }
        var accepted: Int32 = -1
        for _ in 0..<200 where accepted < 0 {
            accepted = accept(listening.fd, nil, nil)
            if accepted < 0 { usleep(5_000) }
        }
        try #require(accepted >= 0)
        defer { Glibc.close(accepted) }
        var value: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        #expect(getsockopt(accepted, Int32(IPPROTO_TCP), TCP_NODELAY, &value, &length) == 0)
        #expect(value != 0, "TCP_NODELAY inherited")
        #expect(getsockopt(accepted, SOL_SOCKET, SO_RCVBUF, &value, &length) == 0)
        #expect(value == 2 * (96 << 10), "SO_RCVBUF inherited (the kernel reports it doubled)")
    }
}
