import Foundation
import NIOCore
import Relay
import TestSupport
import Testing

/// Acceptance (reload): new settings apply to new connections only; open connections keep their
/// target and their listening address going away does not touch them.
@Suite(.tags(.integration), .tier(.integration), .serialized, .timeLimit(.minutes(2))) struct RelayListenerUpdateTests {
    /// A target that greets every connection with its name, then echoes until end of stream.
    final class EchoTarget: Sendable {
        let listener: BlockingListener
        private let thread: TestThreads.Handle<Void>

        init(_ name: String) throws {
            let listener = try BlockingListener()
            self.listener = listener
            self.thread = TestThreads.start {
                while let socket = try? listener.accept() {
                    _ = TestThreads.start {
                        try? socket.send(name)
                        while let bytes = try? socket.receive(), !bytes.isEmpty {
                            try? socket.send(bytes)
                        }
                        socket.close()
                    }
                }
            }
        }

        var port: Int { self.listener.port }
        func stop() { self.listener.close() }
    }

    /// A client connection through the relay that has read the target's greeting.
    final class Client: Sendable {
        let socket: BlockingSocket
        let greeting: String

        init(port: Int) async throws {
            (self.socket, self.greeting) = try await TestThreads.start { () throws -> (BlockingSocket, String) in
                let socket = try BlockingSocket.connect(port: port)
                socket.setReceiveTimeout(seconds: 10)
                return (socket, String(decoding: try socket.receive(exactly: 1), as: UTF8.self))
            }.value
        }

        /// Sends `text` and returns the echo.
        func echo(_ text: String) async throws -> String {
            try await TestThreads.start { () throws -> String in
                try self.socket.send(text)
                return String(decoding: try self.socket.receive(exactly: text.utf8.count), as: UTF8.self)
            }.value
        }

        func close() { self.socket.close() }
    }

    @Test func newTargetsApplyToNewConnectionsWhileOpenOnesKeepTheirTarget() async throws {
        let a = try EchoTarget("A")
        let b = try EchoTarget("B")
        let relay = try await RelayHarness(targets: [a.port])
        let before = try await Client(port: relay.port)
        #expect(before.greeting == "A")

        var settings = relay.listener.configuration
        settings.targets = [Endpoint(host: "127.0.0.1", port: b.port)]
        settings.idleTimeout = .seconds(60)
        let update = try await relay.listener.update(configuration: settings, tapFactory: nil)
        #expect(update.bound.isEmpty && update.closed.isEmpty)
        #expect(update.newTargetPool)
        #expect(relay.listener.targetPool.targets == settings.targets)

        #expect(try await before.echo("still A") == "still A", "the open connection carries on with its target")
        let after = try await Client(port: relay.port)
        #expect(after.greeting == "B")
        #expect(try await after.echo("now B") == "now B")
        #expect(relay.listener.openConnections == 2)
        before.close()
        after.close()
        #expect(try await relay.shutdown())
        a.stop()
        b.stop()
    }

    @Test func settingsGivenUnderAnotherNameKeepTheListenersName() async throws {
        let a = try EchoTarget("A")
        let relay = try await RelayHarness(targets: [a.port])
        let name = relay.listener.name
        var settings = relay.listener.configuration
        settings.name = name + "-renamed"
        relay.listener.replaceSettings(configuration: settings, tapFactory: nil)
        #expect(relay.listener.configuration.name == name)
        let client = try await Client(port: relay.port)
        #expect(client.greeting == "A")
        client.close()
        #expect(try await relay.shutdown())
        a.stop()
    }

    @Test func aTargetThatStaysKeepsItsCountersAndCoolDown() async throws {
        let refusing = try BlockingListener.refusingPort()
        let a = try EchoTarget("A")
        let relay = try await RelayHarness(targets: [refusing, a.port]) { $0.targetCoolDown = .seconds(60) }
        let client = try await Client(port: relay.port)
        #expect(client.greeting == "A")
        client.close()
        var settings = relay.listener.configuration
        let b = try EchoTarget("B")
        settings.targets = [Endpoint(host: "127.0.0.1", port: b.port)] + settings.targets
        try await relay.listener.update(configuration: settings, tapFactory: nil)
        let pool = relay.listener.targetPool
        #expect(pool.statistics[1].failedConnects == 1, "the refusing target's counter moved along")
        #expect(pool.statistics[2].successfulConnects == 1)
        #expect(!pool.isHealthy(1), "and it is still cooling down")
        #expect(pool.isHealthy(0))
        #expect(try await relay.shutdown())
        a.stop()
        b.stop()
    }

    @Test func aRemovedListenAddressRefusesNewConnectionsWhileOnesAcceptedThereContinue() async throws {
        let a = try EchoTarget("A")
        let first = try LoopbackPort.free()
        let relay = try await RelayHarness(targets: [a.port]) {
            $0.listen = [Endpoint(host: "127.0.0.1", port: first)]
        }
        let old = try await Client(port: first)
        #expect(old.greeting == "A")

        let second = try LoopbackPort.free()
        var settings = relay.listener.configuration
        settings.listen = [Endpoint(host: "127.0.0.1", port: second)]
        let update = try await relay.listener.update(configuration: settings, tapFactory: nil)
        #expect(update.bound == [Endpoint(host: "127.0.0.1", port: second)])
        #expect(update.closed == [Endpoint(host: "127.0.0.1", port: first)])
        #expect(!update.newTargetPool)

        #expect(!LoopbackPort.isAccepting(first), "the removed address no longer accepts")
        let new = try await Client(port: second)
        #expect(new.greeting == "A")
        #expect(try await old.echo("carries on") == "carries on")
        old.close()
        new.close()
        #expect(try await relay.shutdown())
        a.stop()
    }

    @Test func aLowerConnectionLimitAppliesToNewConnectionsWithoutClosingOpenOnes() async throws {
        let a = try EchoTarget("A")
        let relay = try await RelayHarness(targets: [a.port])
        let one = try await Client(port: relay.port)
        let two = try await Client(port: relay.port)
        var settings = relay.listener.configuration
        settings.maxConnections = 2
        try await relay.listener.update(configuration: settings, tapFactory: nil)
        let refused = try await TestThreads.start { () throws -> [UInt8] in
            let socket = try BlockingSocket.connect(port: relay.port)
            socket.setReceiveTimeout(seconds: 10)
            defer { socket.close() }
            return try socket.receiveAll()
        }.value
        #expect(refused.isEmpty, "the third connection is closed at once")
        #expect(relay.statistics.connectionsRefused(.maxConnections) == 1)
        #expect(try await one.echo("one") == "one")
        #expect(try await two.echo("two") == "two")
        one.close()
        two.close()
        #expect(try await relay.shutdown())
        a.stop()
    }
}
