import Logging
import NIOCore
import NIOPosix
import Relay
import ServiceLifecycle

/// The running tee: one ``RelayListener`` per configured listener on a shared event loop group.
///
/// As a `Service` it binds every listener, then waits for a graceful shutdown (SIGTERM/SIGINT
/// through `ServiceGroup`): it stops accepting, lets open connections finish for up to
/// `shutdown_timeout`, then closes what is left.
public final class TeeDaemon: Service, Sendable {
    public let configuration: TeeConfiguration
    public let listeners: [RelayListener]
    private let group: any EventLoopGroup
    private let logger: Logger

    public init(
        configuration: TeeConfiguration,
        group: any EventLoopGroup,
        tapFactory: (any RelayTapFactory)? = nil,
        logger: Logger
    ) {
        self.configuration = configuration
        self.group = group
        self.logger = logger
        let ids = ConnectionIDGenerator()
        self.listeners = configuration.listeners.map {
            RelayListener(configuration: $0, group: group, tapFactory: tapFactory, connectionIDs: ids, logger: logger)
        }
    }

    /// Binds every listener. Throws (with the listener and address) if one cannot be bound;
    /// listeners bound before it are closed again.
    public func start() async throws {
        var started: [RelayListener] = []
        do {
            for listener in self.listeners {
                try await listener.start()
                started.append(listener)
            }
        } catch {
            for listener in started { await listener.stopAccepting() }
            throw error
        }
    }

    public func run() async throws {
        try await self.start()
        try? await gracefulShutdown()
        await self.shutdown()
    }

    /// Stops accepting, waits up to `shutdown_timeout` for open connections, closes the rest.
    public func shutdown() async {
        for listener in self.listeners { await listener.stopAccepting() }
        let open = self.listeners.reduce(0) { $0 + $1.openConnections }
        if open > 0 {
            self.logger.info(
                "shutting down: waiting for open connections to finish",
                metadata: ["connections": "\(open)", "timeout": "\(self.configuration.shutdownTimeout)"])
        }
        let allClosed = await withTaskGroup(of: Bool.self) { group in
            for listener in self.listeners {
                let timeout = self.configuration.shutdownTimeout
                group.addTask { await listener.waitForConnectionsToClose(timeout: timeout) }
            }
            return await group.reduce(true) { $0 && $1 }
        }
        if !allClosed {
            let left = self.listeners.reduce(0) { $0 + $1.openConnections }
            self.logger.warning("shutdown timeout reached; closing the remaining connections", metadata: ["connections": "\(left)"])
            for listener in self.listeners { await listener.closeAllConnections() }
        }
    }
}
