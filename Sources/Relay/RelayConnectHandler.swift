import Logging
import NIOCore
import NIOPosix

/// First handler of an accepted client channel: connects to a target on the client's behalf,
/// trying the pool's candidates in order, then replaces itself with the glue.
///
/// The client channel does not read while this runs (autoRead is off), so what the client sends
/// early normally stays in the kernel until the glue is in place. The exception is end of stream:
/// NIO reads a socket to its end as soon as the peer's FIN arrives, whatever autoRead says. Those
/// bytes (bounded by the socket's receive buffer) and the FIN are kept here and handed to the glue,
/// which relays them first.
final class RelayConnectHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer

    private let listener: RelayListener.Shared
    private let connectionID: UInt64
    private var log: RelayConnectionLogger
    private var state: State = .idle
    /// Bytes NIO read while connecting (only at end of stream), in order.
    private var earlyBytes: [ByteBuffer] = []
    private var earlyEndOfStream = false

    private enum State {
        case idle
        case connecting(remaining: ArraySlice<Int>)
        case relaying
        case clientGone
    }

    init(listener: RelayListener.Shared, connectionID: UInt64) {
        self.listener = listener
        self.connectionID = connectionID
        self.log = RelayConnectionLogger(base: listener.logger, connectionID: connectionID)
    }

    func channelActive(context: ChannelHandlerContext) {
        self.log.peer = context.channel.remoteAddress
        let candidates = self.listener.targetPool.candidates()
        self.state = .connecting(remaining: candidates[...])
        self.connectNext(context: context)
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = self.unwrapInboundIn(data)
        self.earlyBytes.append(buffer)
        self.listener.statistics.readForRelay(buffer.readableBytes)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        // Held until the glue takes over.
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let event = event as? ChannelEvent, event == .inputClosed {
            self.earlyEndOfStream = true
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        if case .connecting = self.state {
            self.log.debug("client closed while the tee was connecting to a target")
        }
        self.state = .clientGone
        context.fireChannelInactive()
    }

    private func connectNext(context: ChannelHandlerContext) {
        guard case .connecting(var remaining) = self.state else { return }
        guard let index = remaining.popFirst() else {
            self.listener.statistics.connectionWithoutTarget()
            self.log.logger.warning("no target accepted the connection; closing the client connection")
            context.close(promise: nil)
            return
        }
        self.state = .connecting(remaining: remaining)
        let pool = self.listener.targetPool
        let target = pool.targets[index]
        let future = self.listener.connect(to: target, on: context.eventLoop)
        future.assumeIsolated().whenComplete { result in
            switch result {
            case .success(let server):
                pool.recordSuccess(index)
                self.targetConnected(server, target: target, context: context)
            case .failure(let error):
                pool.recordFailure(index)
                self.log.logger.warning(
                    "target connect failed; trying the next target",
                    metadata: ["target": "\(target)", "error": "\(error)"])
                self.connectNext(context: context)
            }
        }
    }

    private func targetConnected(_ server: any Channel, target: Endpoint, context: ChannelHandlerContext) {
        guard case .connecting = self.state else {
            // The client left while we were connecting.
            server.close(promise: nil)
            return
        }
        self.state = .relaying
        self.log.target = target
        let client = context.channel
        let info = RelayConnectionInfo(
            id: self.connectionID, listener: self.listener.configuration.name,
            client: client.remoteAddress, local: client.localAddress, target: target)
        let connection = RelayConnection(
            info: info, statistics: self.listener.statistics, log: self.log,
            drainTimeout: self.listener.configuration.drainTimeout,
            tap: self.listener.tapFactory?.makeTap(for: info),
            onClosed: {})
        let early = self.earlyBytes
        self.earlyBytes = []
        for buffer in early {
            self.listener.statistics.writeFinished(buffer.readableBytes, direction: .clientToServer, delivered: false)
        }
        let glue = RelayGlueHandler.matchedPair(
            connection: connection, earlyClientBytes: early, clientEndOfStream: self.earlyEndOfStream)
        do {
            try server.pipeline.syncOperations.addHandler(glue.server)
            try context.pipeline.syncOperations.addHandler(
                IdleStateHandler(allTimeout: self.listener.configuration.idleTimeout), position: .last)
            try context.pipeline.syncOperations.addHandler(glue.client, position: .last)
            context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
        } catch {
            self.log.logger.error("could not set up the relay pipeline", metadata: ["error": "\(error)"])
            server.close(promise: nil)
            context.close(promise: nil)
            return
        }
        self.log.debug("connection relayed")
    }
}

@available(*, unavailable)
extension RelayConnectHandler: Sendable {}
