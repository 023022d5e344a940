import Admin
import ServiceLifecycle

/// The admin endpoint as a `Service`: first in the group, so that it is stopped last and
/// `/metrics` answers through the whole graceful shutdown; bound once the listeners are, so that
/// a listen address in use is the error a failed start reports, as it always was.
struct AdminService: Service {
    let admin: AdminServer
    /// Finished once every listener is bound.
    let listenersBound: AsyncStream<Void>

    func run() async throws {
        for await _ in self.listenersBound.cancelOnGracefulShutdown() {}
        // The listeners failed, or the group is stopping before they were bound: nothing to serve.
        if !Task.isShuttingDownGracefully {
            try await self.admin.start()
        }
        try? await gracefulShutdown()
        await self.admin.shutdown()
    }
}
