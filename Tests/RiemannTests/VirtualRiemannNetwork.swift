import Logging
import NIOCore
import NIOEmbedded
import Synchronization
import TestSupport

@testable import Riemann

/// Riemann servers in memory, for running a ``RiemannClient`` on virtual time: every connection
/// the client opens is a `NIOAsyncTestingChannel` on one `NIOAsyncTestingEventLoop`, whose clock
/// moves only when the test says so. The test reads what the client wrote and answers for the
/// server; a server can refuse connections.
final class VirtualRiemannNetwork: Sendable {
    let loop = NIOAsyncTestingEventLoop()
    private let state = Mutex<
        (
            channels: [(server: RiemannServerAddress, channel: NIOAsyncTestingChannel)],
            refused: Set<RiemannServerAddress>
        )
    >(([], []))

    struct ConnectionRefused: Error {}

    static let logger: Logger = {
        var logger = Logger(label: "riemann-virtual-test")
        logger.logLevel = .critical
        return logger
    }()

    /// A client on this network whose backoff jitter comes from `seed`.
    func client(
        _ configuration: RiemannClientConfiguration,
        seed: UInt64 = 1,
        wireFormat: EventWireFormat = .riemann
    ) -> RiemannClient {
        RiemannClient(
            configuration: configuration,
            eventLoopGroup: self.loop,
            logger: Self.logger,
            connector: self.connector,
            wireFormat: wireFormat,
            randomNumberGenerator: SeededGenerator(seed: seed)
        )
    }

    /// A started client that has been handed `events`, once the loop has done what it can with them.
    func startedClient(
        _ configuration: RiemannClientConfiguration,
        enqueueing events: [RiemannEvent]
    ) async
        -> RiemannClient
    {
        let client = self.client(configuration)
        client.start()
        client.enqueue(events)
        await self.settle()
        return client
    }

    /// Connections to `server` fail from now on (or succeed again).
    func setRefusing(_ server: RiemannServerAddress, _ refusing: Bool) {
        self.state.withLock { state in
            if refusing { state.refused.insert(server) } else { state.refused.remove(server) }
        }
    }

    /// Every connection opened so far, oldest first.
    var connections: [(server: RiemannServerAddress, channel: NIOAsyncTestingChannel)] {
        self.state.withLock { $0.channels }
    }

    /// The newest connection (fails the test if there is none).
    func lastConnection() throws -> NIOAsyncTestingChannel {
        guard let last = self.connections.last else { throw ConnectionRefused() }
        return last.channel
    }

    private var connector: RiemannConnector {
        RiemannConnector { [self] server, _, eventLoop, initializer in
            guard !self.state.withLock({ $0.refused.contains(server) }),
                let address = try? SocketAddress(ipAddress: "127.0.0.1", port: server.port)
            else {
                return eventLoop.makeFailedFuture(ConnectionRefused())
            }
            let channel = NIOAsyncTestingChannel(loop: self.loop)
            self.state.withLock { $0.channels.append((server, channel)) }
            return initializer(channel).flatMap { channel.connect(to: address) }.map { channel }
        }
    }

    /// Lets the loop run everything that is due now (work producers handed to it included).
    func settle() async {
        await self.loop.run()
    }

    /// Moves virtual time forward, running the timers that come due.
    func advance(by amount: TimeAmount) async {
        await self.loop.advanceTime(by: amount)
    }
}

extension NIOAsyncTestingChannel {
    /// The messages the client has written on this connection and nobody has read yet.
    func writtenMessages() async throws -> [RiemannMessage] {
        var messages: [RiemannMessage] = []
        while let frame = try await self.readOutbound(as: ByteBuffer.self) {
            messages.append(try Self.decode(frame))
        }
        return messages
    }

    /// The next message the client writes on this connection, waiting for it.
    func nextWrittenMessage() async throws -> RiemannMessage {
        try Self.decode(try await self.waitForOutboundWrite(as: ByteBuffer.self))
    }

    private static func decode(_ frame: ByteBuffer) throws -> RiemannMessage {
        var frame = frame
        guard let body = try RiemannFrameDecoder().readFrameBody(from: &frame), frame.readableBytes == 0 else {
            throw RiemannCodecError.malformedMessage(bodyLength: frame.readableBytes)
        }
        return try RiemannMessageCodec.decode(body: body)
    }

    /// Answers the oldest unanswered message, as the server would.
    func reply(_ message: RiemannMessage = .ack) async throws {
        try await self.writeInbound(try RiemannMessageCodec.frame(message))
    }
}
