import Logging
import NIOPosix
import Testing

@testable import Tee

/// The order of the daemon's services is its start order and, reversed, its graceful shutdown
/// order: the listeners stop first, the admin endpoint last (ARCHITECTURE.md, "Start and shutdown
/// order"). Pinned without starting anything.
struct ServiceOrderTests {
    static func daemon(_ yaml: String) throws -> TeeDaemon {
        var logger = Logger(label: "service-order")
        logger.logLevel = .critical
        let configuration = try ConfigLoader.parse(yaml: yaml, file: "order.yaml")
        return TeeDaemon(configuration: configuration, group: MultiThreadedEventLoopGroup.singleton, logger: logger)
    }

    /// One listener, decoding or not.
    static func listener(decode: Bool) -> String {
        """
        listeners:
          - name: agents
            listen: ["127.0.0.1:10051"]
            targets: ["127.0.0.1:10052"]
            decode: \(decode)
        """
    }

    static func names(_ daemon: TeeDaemon) -> [String] {
        daemon.makeServices().map { "\(type(of: $0))" }
    }

    @Test func adminRiemannPipelineThenTheListenersSoThatTheListenersStopFirstAndTheAdminEndpointLast() async throws {
        let daemon = try Self.daemon(
            Self.listener(decode: true) + """

                riemann:
                  servers: ["127.0.0.1:5555"]
                """
        )
        #expect(Self.names(daemon) == ["AdminService", "RiemannService", "SidePipelineService", "RelayService"])
        await daemon.admin?.shutdown()  // the admin endpoint's own event loop, never started
    }

    @Test func graphiteStartsBeforeRiemannAndIsFlushedAfterIt() async throws {
        let daemon = try Self.daemon(
            Self.listener(decode: true) + """

                riemann:
                  servers: ["127.0.0.1:5555"]
                graphite:
                  servers: ["127.0.0.1:2003"]
                """
        )
        #expect(
            Self.names(daemon) == [
                "AdminService", "GraphiteService", "RiemannService", "SidePipelineService", "RelayService",
            ]
        )
        await daemon.admin?.shutdown()
    }

    @Test func withoutRiemannOrDecodingTheDefaultAdminEndpointAndTheListeners() async throws {
        let daemon = try Self.daemon(Self.listener(decode: false))
        #expect(Self.names(daemon) == ["AdminService", "RelayService"])
        await daemon.admin?.shutdown()
    }
}
