import NIOCore
import NIOPosix

/// How the Riemann client opens a connection: TCP in production; tests hand over in-memory
/// channels (`NIOAsyncTestingChannel`) so that the client runs on virtual time without sockets.
struct RiemannConnector: Sendable {
    /// Sets up a new channel's pipeline before it is used.
    typealias ChannelInitializer = @Sendable (any Channel) -> EventLoopFuture<Void>

    private let body:
        @Sendable (
            _ server: RiemannServerAddress, _ connectTimeout: TimeAmount, _ eventLoop: any EventLoop,
            _ initializer: @escaping ChannelInitializer
        ) -> EventLoopFuture<any Channel>

    init(
        _ body:
            @escaping @Sendable (
                _ server: RiemannServerAddress, _ connectTimeout: TimeAmount, _ eventLoop: any EventLoop,
                _ initializer: @escaping ChannelInitializer
            ) -> EventLoopFuture<any Channel>
    ) {
        self.body = body
    }

    /// Opens a connection to `server` on `eventLoop`; `initializer` runs on the channel first.
    func connect(
        to server: RiemannServerAddress,
        connectTimeout: TimeAmount,
        on eventLoop: any EventLoop,
        initializer: @escaping ChannelInitializer
    ) -> EventLoopFuture<any Channel> {
        self.body(server, connectTimeout, eventLoop, initializer)
    }

    /// TCP with keep-alive (and NIO's default TCP_NODELAY).
    static let tcp = RiemannConnector { server, connectTimeout, eventLoop, initializer in
        ClientBootstrap(group: eventLoop)
            .connectTimeout(connectTimeout)
            .channelOption(.socketOption(.so_keepalive), value: 1)
            .channelInitializer(initializer)
            .connect(host: server.host, port: server.port)
    }
}
