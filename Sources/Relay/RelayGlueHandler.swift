import Logging
import NIOCore

/// One half of the glue between a client channel and its server channel.
///
/// Each handler reads from its own channel and writes to its partner's channel:
/// - **Read on write success.** `autoRead` is off; the handler issues the next `read()` only after
///   the read batch ended (`channelReadComplete`) *and* every write of that batch to the partner
///   succeeded. Each direction therefore holds at most one read batch in memory, whatever the
///   speed of the receiving peer.
/// - **Half-close.** End of input (`.inputClosed`, needs `allowRemoteHalfClosure`) becomes
///   `close(mode: .output)` on the partner once every write queued on the partner has completed.
///   (NIO would wait for queued writes by itself only while the channel's input is open; with the
///   input already shut it escalates at once to a full close that discards them.) The other
///   direction keeps flowing; NIO closes a channel fully once both its input and output are shut.
/// - **Errors.** When one channel closes for any reason (reset, write error, idle timeout), NIO has
///   already read what its socket still held and this handler forwarded it. The partner then
///   writes out what is queued for it, shuts down its output and closes, bounded by the drain
///   timeout.
///
/// Both channels live on the same event loop, so the handlers call each other directly.
final class RelayGlueHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundOut = ByteBuffer

    /// The direction of the bytes this handler *reads*.
    private let direction: RelayDirection
    private let connection: RelayConnection
    private var partner: RelayGlueHandler?
    private var context: ChannelHandlerContext?

    /// Writes of bytes read here that the partner has not finished yet.
    private var writesInFlight = 0
    private var readRequested = false
    private var inputClosed = false
    private var outputShutdownRequested = false
    /// Output shutdown waits for the writes still queued on this channel.
    private var outputShutdownWaitsForWrites = false
    private var outputShutDown = false
    private var partnerClosed = false
    /// A socket error on this channel was counted (once per channel).
    private var errorCounted = false
    /// Bytes (and end of stream) read before this handler was in place, relayed first.
    private var earlyBytes: [ByteBuffer]
    private var earlyEndOfStream: Bool

    private init(direction: RelayDirection, connection: RelayConnection, earlyBytes: [ByteBuffer], earlyEndOfStream: Bool) {
        self.direction = direction
        self.connection = connection
        self.earlyBytes = earlyBytes
        self.earlyEndOfStream = earlyEndOfStream
    }

    /// A client-side and a server-side handler that know each other. The client side first relays
    /// `earlyClientBytes` and, if `clientEndOfStream`, the client's end of stream.
    /// Add the server-side handler to its pipeline first.
    static func matchedPair(
        connection: RelayConnection, earlyClientBytes: [ByteBuffer] = [], clientEndOfStream: Bool = false
    ) -> (client: RelayGlueHandler, server: RelayGlueHandler) {
        let client = RelayGlueHandler(
            direction: .clientToServer, connection: connection, earlyBytes: earlyClientBytes,
            earlyEndOfStream: clientEndOfStream)
        let server = RelayGlueHandler(direction: .serverToClient, connection: connection, earlyBytes: [], earlyEndOfStream: false)
        client.partner = server
        server.partner = client
        return (client, server)
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        if !self.earlyBytes.isEmpty || self.earlyEndOfStream {
            self.relayEarlyInput(context: context)
        }
        if context.channel.isActive {
            self.readIfPossible()
        }
    }

    private func relayEarlyInput(context: ChannelHandlerContext) {
        let bytes = self.earlyBytes
        self.earlyBytes = []
        for buffer in bytes {
            self.channelRead(context: context, data: self.wrapInboundOut(buffer))
        }
        if !bytes.isEmpty {
            self.partner?.flush()
        }
        if self.earlyEndOfStream {
            self.earlyEndOfStream = false
            self.userInboundEventTriggered(context: context, event: ChannelEvent.inputClosed)
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
        // Writes of bytes read here may still be completing on the partner's channel and must
        // reach the partner, so the pair stays linked until both handlers are removed.
        if let partner = self.partner, partner.context == nil {
            partner.partner = nil
            self.partner = nil
        }
    }

    func channelActive(context: ChannelHandlerContext) {
        self.readIfPossible()
        context.fireChannelActive()
    }

    // MARK: Relaying bytes

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = self.unwrapInboundIn(data)
        guard let partner = self.partner, !self.partnerClosed else {
            // The other side is gone: nothing can take these bytes any more.
            return
        }
        self.writesInFlight += 1
        partner.write(buffer, readBy: self)
        self.connection.observe(buffer, direction: self.direction)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        self.readRequested = false
        self.partner?.flush()
        self.readIfPossible()
    }

    /// Called on the partner: write bytes that `source` read.
    private func write(_ buffer: ByteBuffer, readBy source: RelayGlueHandler) {
        let count = buffer.readableBytes
        let statistics = self.connection.statistics
        let direction = source.direction
        statistics.readForRelay(count)
        guard let context = self.context else {
            statistics.writeFinished(count, direction: direction, delivered: false)
            source.writeFinished(success: false)
            return
        }
        let promise = context.eventLoop.makePromise(of: Void.self)
        promise.futureResult.assumeIsolated().whenComplete { result in
            let delivered: Bool
            switch result {
            case .success:
                delivered = true
            case .failure(let error):
                delivered = false
                // A write the peer's socket refused (reset, broken pipe); not one dropped because
                // the channel was already closing for another reason.
                if error is IOError { self.countSocketError() }
            }
            statistics.writeFinished(count, direction: direction, delivered: delivered)
            source.writeFinished(success: delivered)
        }
        context.write(self.wrapOutboundOut(buffer), promise: promise)
    }

    private func flush() {
        self.context?.flush()
    }

    private func writeFinished(success: Bool) {
        self.writesInFlight -= 1
        if self.writesInFlight == 0 {
            self.partner?.queuedWritesCompleted()
        }
        if success {
            self.readIfPossible()
        }
        // On failure the partner channel is closing; `partnerDidClose()` takes it from there.
    }

    /// Called on the writing side when every write queued on its channel has completed.
    private func queuedWritesCompleted() {
        guard self.outputShutdownWaitsForWrites else { return }
        self.outputShutdownWaitsForWrites = false
        self.performOutputShutdown()
    }

    private func readIfPossible() {
        guard self.writesInFlight == 0, !self.readRequested, !self.inputClosed, !self.partnerClosed,
            let context = self.context, context.channel.isActive
        else { return }
        self.readRequested = true
        context.read()
    }

    // MARK: End of stream, close, errors

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let event = event as? ChannelEvent, event == .inputClosed {
            self.inputClosed = true
            self.connection.endOfStream(self.direction)
            self.partner?.shutDownOutput()
        } else if event is IdleStateHandler.IdleStateEvent {
            self.connection.statistics.idleTimeout()
            self.connection.log.logger.warning("closing idle connection: no bytes in either direction for the idle timeout")
            context.close(promise: nil)
            self.partner?.context?.close(promise: nil)
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }

    /// The peer we read from finished sending: forward its FIN once our queued writes are out.
    private func shutDownOutput() {
        guard !self.outputShutdownRequested else { return }
        self.outputShutdownRequested = true
        if let partner = self.partner, partner.writesInFlight > 0 {
            self.outputShutdownWaitsForWrites = true
        } else {
            self.performOutputShutdown()
        }
    }

    private func performOutputShutdown() {
        guard let context = self.context, context.channel.isActive else { return }
        let promise = context.eventLoop.makePromise(of: Void.self)
        promise.futureResult.assumeIsolated().whenComplete { _ in
            self.outputShutDown = true
            if self.partnerClosed {
                self.context?.close(promise: nil)
            }
        }
        context.close(mode: .output, promise: promise)
    }

    func channelInactive(context: ChannelHandlerContext) {
        // With the output already shut, NIO turns the peer's FIN into a full close without an
        // `.inputClosed` event; either way no more bytes come from this side.
        if !self.inputClosed {
            self.inputClosed = true
            self.connection.endOfStream(self.direction)
        }
        self.connection.channelClosed()
        self.partner?.partnerDidClose()
        context.fireChannelInactive()
    }

    /// The partner channel is closed. Write out what is queued for our peer, pass on the FIN,
    /// then close; give up after the drain timeout if our peer does not take the bytes.
    private func partnerDidClose() {
        guard !self.partnerClosed else { return }
        self.partnerClosed = true
        guard let context = self.context, context.channel.isActive else { return }
        if self.outputShutDown {
            context.close(promise: nil)
            return
        }
        self.shutDownOutput()
        let channel = context.channel
        // Usually nothing was queued: the output shutdown completed at once and closed the
        // channel, and there is nothing to drain.
        guard channel.isActive else { return }
        let drain = context.eventLoop.assumeIsolated().scheduleTask(in: self.connection.drainTimeout) {
            if channel.isActive {
                self.connection.log.logger.warning("peer did not take the remaining bytes within the drain timeout; closing")
                channel.close(promise: nil)
            }
        }
        channel.closeFuture.assumeIsolated().whenComplete { _ in drain.cancel() }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // NIO closes the channel itself after a fatal read error; `channelInactive` follows.
        self.countSocketError()
        self.connection.log.debug(
            "\(self.direction == .clientToServer ? "client" : "server") side error",
            metadata: ["error": "\(error)"])
    }
}

extension RelayGlueHandler {
    /// Counts a socket error on this handler's channel, once per channel.
    private func countSocketError() {
        guard !self.errorCounted else { return }
        self.errorCounted = true
        self.connection.statistics.connectionError(readingFrom: self.direction)
    }
}

@available(*, unavailable)
extension RelayGlueHandler: Sendable {}
