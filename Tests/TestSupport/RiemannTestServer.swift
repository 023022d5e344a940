import NIOCore
import NIOPosix
import Riemann
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A Riemann-protocol TCP server on loopback for tests.
///
/// It decodes frames with the production codec, records every received message and event, and
/// answers according to ``ReplyMode`` (by default `{ok: true}` right away, like Riemann). Tests
/// can switch the reply mode at any time, reset every connection (RST via `SO_LINGER 0`), stop
/// listening (connections are refused) and listen again on the same port.
public final class RiemannTestServer: Sendable {
    /// How the server answers each received message.
    public enum ReplyMode: Sendable, Equatable {
        /// `{ok: true}` at once.
        case acknowledge
        /// `{ok: true}` after a delay; acks stay in request order per connection.
        case acknowledgeAfter(TimeAmount)
        /// `{ok: false, error: text}`.
        case reject(error: String)
        /// Never answer (the message is still recorded).
        case neverAcknowledge
        /// Reset the connection (RST) instead of answering; the message is *not* recorded.
        case resetConnection
        /// Answer with these raw bytes (e.g. a malformed or oversized frame).
        case rawBytes([UInt8])
    }

    /// Thrown by ``waitForEvents(count:timeout:)``.
    public struct TimeoutError: Error, CustomStringConvertible {
        public var expected: Int
        public var received: Int
        public var description: String { "expected \(self.expected) Riemann events, received \(self.received)" }
    }

    private struct State: Sendable {
        var mode: ReplyMode = .acknowledge
        var plan: [ReplyMode] = []
        var serverChannel: (any Channel)?
        var connections: [ObjectIdentifier: any Channel] = [:]
        var messages: [RiemannMessage] = []
        var events: [RiemannEvent] = []
        var acceptedConnections = 0
        var isShutDown = false
        var port = 0
    }

    /// The TCP port; fixed for the server's life, also across ``stopListening()``/``startListening()``.
    public var port: Int {
        self.state.withLock { $0.port }
    }
    /// The loopback address the server listens on.
    public let host: String
    private let group: any EventLoopGroup
    private let state: Mutex<State>

    private init(group: any EventLoopGroup, host: String, port: Int, replyMode: ReplyMode) {
        self.group = group
        self.host = host
        var state = State()
        state.port = port
        state.mode = replyMode
        self.state = Mutex(state)
    }

    /// Starts a server on `host`, port `port` (0: a free port from ``LoopbackPort/free()``).
    ///
    /// Port 0 does *not* let the kernel choose: a kernel-chosen port lies in the ephemeral range,
    /// and while the server is stopped (``stopListening()``) the kernel may give that number to
    /// any other socket — another test's listener bound to port 0, or the source port of some
    /// connection. Clients of the "down" server then reach a stranger, and ``startListening()``
    /// fails with EADDRINUSE. A ``LoopbackPort`` port is below the ephemeral range and never
    /// handed out twice in this process, so it stays ours while the server is down.
    public static func start(
        host: String = "127.0.0.1",
        port: Int = 0,
        replyMode: ReplyMode = .acknowledge,
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) async throws -> RiemannTestServer {
        guard port == 0 else {
            let server = RiemannTestServer(group: group, host: host, port: port, replyMode: replyMode)
            try await server.startListening()
            return server
        }
        // Another process may bind the port between LoopbackPort's check and ours: take another.
        var attempt = 0
        while true {
            attempt += 1
            let server = RiemannTestServer(
                group: group,
                host: host,
                port: try LoopbackPort.free(),
                replyMode: replyMode
            )
            do {
                try await server.listen()
                return server
            } catch  where Self.isAddressInUse(error) && attempt < 10 {
                continue
            }
        }
    }

    /// True if `error` is a bind failing with EADDRINUSE.
    static func isAddressInUse(_ error: any Error) -> Bool {
        (error as? IOError)?.errnoCode == EADDRINUSE
    }

    private static func bind(
        host: String,
        port: Int,
        group: any EventLoopGroup,
        server: RiemannTestServer
    ) async throws -> any Channel {
        let socket = try Self.boundSocket(host: host, port: port)
        return try await ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 64)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(RiemannFrameDecoder()))
                    try channel.pipeline.syncOperations.addHandler(ConnectionHandler(server: server))
                }
            }
            .withBoundSocket(socket)
            .get()
    }

    /// A TCP socket bound to `host:port` with `SO_REUSEADDR` and close-on-exec; NIO listens on it.
    ///
    /// NIO opens its sockets without `SOCK_CLOEXEC`, so a program another test spawns (python3,
    /// the Zabbix daemons) would inherit the listening socket and keep it listening after
    /// ``stopListening()`` closed ours: connects to the "down" server would succeed, and binding
    /// the port again would fail with EADDRINUSE until that program exits. Throws `IOError`.
    private static func boundSocket(host: String, port: Int) throws -> CInt {
        var hints = addrinfo()
        hints.ai_socktype = CInt(SOCK_STREAM.rawValue)
        hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV
        var result: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, String(port), &hints, &result) == 0, let info = result else {
            throw IOError(errnoCode: EINVAL, reason: "getaddrinfo \(host)")
        }
        defer { freeaddrinfo(result) }
        let fd = socket(info.pointee.ai_family, CInt(SOCK_STREAM.rawValue) | CInt(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw IOError(errnoCode: errno, reason: "socket") }
        var one: CInt = 1
        guard setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<CInt>.size)) == 0,
            Glibc.bind(fd, info.pointee.ai_addr, info.pointee.ai_addrlen) == 0
        else {
            let error = errno
            close(fd)
            throw IOError(errnoCode: error, reason: "bind \(host):\(port)")
        }
        return fd
    }

    // MARK: Control

    /// Changes how subsequent messages are answered.
    public func setReplyMode(_ mode: ReplyMode) {
        self.state.withLock { $0.mode = mode }
    }

    /// Answers the next messages with `modes`, one each, in order; then ``replyMode`` again.
    public func setReplyPlan(_ modes: [ReplyMode]) {
        self.state.withLock { $0.plan = modes }
    }

    /// The current reply mode.
    public var replyMode: ReplyMode {
        self.state.withLock { $0.mode }
    }

    /// Listens again on ``port`` after ``stopListening()`` (no-op if already listening).
    ///
    /// The port is ours (see ``start(host:port:replyMode:group:)``), so binding it again normally
    /// succeeds at once; should something else hold it for a moment (another process), the bind
    /// is retried for up to `bindRetryTimeout` before the EADDRINUSE is thrown.
    public func startListening(bindRetryTimeout: Duration = .seconds(5)) async throws {
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: bindRetryTimeout)
        while true {
            do {
                try await self.listen()
                return
            } catch  where Self.isAddressInUse(error) && clock.now < deadline {
                try await Task.sleep(for: .milliseconds(20))
            }
        }
    }

    /// One attempt to listen on ``port`` (no-op if already listening).
    private func listen() async throws {
        let alreadyListening = self.state.withLock { state in
            state.serverChannel.map { $0.isActive } ?? false
        }
        guard !alreadyListening else { return }
        let channel = try await Self.bind(host: self.host, port: self.port, group: self.group, server: self)
        self.state.withLock { $0.serverChannel = channel }
    }

    /// Closes the listening socket: new connections are refused. Open connections stay.
    public func stopListening() async {
        let channel = self.state.withLock { state in
            defer { state.serverChannel = nil }
            return state.serverChannel
        }
        try? await channel?.close()
    }

    /// Resets every open connection (`SO_LINGER` 0, then close: the peer sees RST).
    public func resetAllConnections() async {
        let channels = self.state.withLock { Array($0.connections.values) }
        for channel in channels {
            await Self.reset(channel)
        }
    }

    /// Stops listening and resets every connection. Safe to call twice.
    public func shutdown() async {
        self.state.withLock { $0.isShutDown = true }
        await self.stopListening()
        await self.resetAllConnections()
    }

    static func reset(_ channel: any Channel) async {
        if let provider = channel as? any SocketOptionProvider {
            try? await provider.setSoLinger(linger(l_onoff: 1, l_linger: 0)).get()
        }
        try? await channel.close()
    }

    // MARK: Observations

    /// Every message received so far (including rejected and never-acknowledged ones), in order.
    public var receivedMessages: [RiemannMessage] {
        self.state.withLock { $0.messages }
    }

    /// Every event received so far, in arrival order.
    public var receivedEvents: [RiemannEvent] {
        self.state.withLock { $0.events }
    }

    /// Connections accepted since start.
    public var acceptedConnectionCount: Int {
        self.state.withLock { $0.acceptedConnections }
    }

    /// Connections open now.
    public var openConnectionCount: Int {
        self.state.withLock { $0.connections.count }
    }

    /// Waits until at least `count` events were received, then returns all received events.
    public func waitForEvents(count: Int, timeout: Duration = .seconds(10)) async throws -> [RiemannEvent] {
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: timeout)
        while true {
            let events = self.receivedEvents
            if events.count >= count {
                return events
            }
            if clock.now >= deadline {
                throw TimeoutError(expected: count, received: events.count)
            }
            try await Task.sleep(for: .milliseconds(5))
        }
    }

    /// Waits until `condition` holds (polled), or throws after `timeout`.
    public func waitUntil(
        timeout: Duration = .seconds(10),
        _ condition: @Sendable (RiemannTestServer) -> Bool
    ) async throws {
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: timeout)
        while !condition(self) {
            if clock.now >= deadline {
                throw TimeoutError(expected: -1, received: self.receivedEvents.count)
            }
            try await Task.sleep(for: .milliseconds(5))
        }
    }

    // MARK: Connection callbacks (on the connection's event loop)

    fileprivate func connectionOpened(_ channel: any Channel) -> Bool {
        self.state.withLock { state in
            guard !state.isShutDown else { return false }
            state.connections[ObjectIdentifier(channel)] = channel
            state.acceptedConnections += 1
            return true
        }
    }

    fileprivate func connectionClosed(_ channel: any Channel) {
        _ = self.state.withLock { $0.connections.removeValue(forKey: ObjectIdentifier(channel)) }
    }

    /// Records `message` unless the mode resets the connection; returns the mode to apply.
    fileprivate func received(_ message: RiemannMessage) -> ReplyMode {
        self.state.withLock { state in
            let mode = state.plan.isEmpty ? state.mode : state.plan.removeFirst()
            if mode != .resetConnection {
                state.messages.append(message)
                state.events.append(contentsOf: message.events)
            }
            return mode
        }
    }
}

/// Per-connection handler: records, then answers per the server's reply mode.
private final class ConnectionHandler: ChannelInboundHandler {
    typealias InboundIn = RiemannMessage
    typealias OutboundOut = ByteBuffer

    private let server: RiemannTestServer
    /// The time the last delayed ack is due; later acks are never scheduled before it.
    private var lastAckDue = NIODeadline.uptimeNanoseconds(0)

    init(server: RiemannTestServer) {
        self.server = server
    }

    func channelActive(context: ChannelHandlerContext) {
        if !self.server.connectionOpened(context.channel) {
            context.close(promise: nil)
        }
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        self.server.connectionClosed(context.channel)
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let message = Self.unwrapInboundIn(data)
        switch self.server.received(message) {
        case .acknowledge:
            self.reply(.ack, context: context, at: nil)
        case .acknowledgeAfter(let delay):
            self.reply(.ack, context: context, at: .now() + delay)
        case .reject(let error):
            self.reply(RiemannMessage(ok: false, error: error), context: context, at: nil)
        case .neverAcknowledge:
            break
        case .rawBytes(let bytes):
            context.writeAndFlush(Self.wrapOutboundOut(context.channel.allocator.buffer(bytes: bytes)), promise: nil)
        case .resetConnection:
            let channel = context.channel
            Task { await RiemannTestServer.reset(channel) }
        }
    }

    private func reply(_ message: RiemannMessage, context: ChannelHandlerContext, at due: NIODeadline?) {
        guard let frame = try? RiemannMessageCodec.frame(message, allocator: context.channel.allocator) else {
            context.close(promise: nil)  // replies are a few bytes: cannot happen
            return
        }
        // Keep replies in request order even when the delay changes between messages.
        let due = max(due ?? .now(), self.lastAckDue)
        self.lastAckDue = due
        if due <= .now() {
            context.writeAndFlush(Self.wrapOutboundOut(frame), promise: nil)
        } else {
            let channel = context.channel
            context.eventLoop.assumeIsolated().scheduleTask(deadline: due) {
                channel.writeAndFlush(frame, promise: nil)
            }
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // Like Riemann: an undecodable frame closes the connection, no reply.
        context.close(promise: nil)
    }
}
