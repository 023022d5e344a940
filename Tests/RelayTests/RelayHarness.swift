import Logging
import NIOCore
import NIOPosix
import Relay
import TestSupport

/// An in-process relay listener on 127.0.0.1 (free port) in front of the given targets, on the
/// process's shared relay engine.
final class RelayHarness: Sendable {
    let listener: RelayListener

    /// The port clients connect to.
    var port: Int { self.listener.localAddresses.first?.port ?? 0 }
    var statistics: RelayStatistics { self.listener.statistics }

    init(
        targets: [Int],
        tapFactory: (any RelayTapFactory)? = nil,
        logger: Logger? = nil,
        configure: (inout RelayListenerConfiguration) -> Void = { _ in }
    ) async throws {
        var configuration = RelayListenerConfiguration(
            name: "test",
            listen: [Endpoint(host: "127.0.0.1", port: 0)],
            targets: targets.map { Endpoint(host: "127.0.0.1", port: $0) },
            connectTimeout: .seconds(2)
        )
        configure(&configuration)
        var quiet = Logger(label: "relay-test")
        quiet.logLevel = .critical
        let logger = logger ?? quiet
        self.listener = RelayListener(configuration: configuration, tapFactory: tapFactory, logger: logger)
        try await self.listener.start()
    }

    /// Waits for every relayed connection to close (no leaked channels), then stops.
    func shutdown(expectAllClosed: Bool = true) async throws -> Bool {
        await self.listener.stopAccepting()
        let closed = await self.listener.waitForConnectionsToClose(timeout: .seconds(10))
        await self.listener.closeAllConnections()
        return closed
    }
}
