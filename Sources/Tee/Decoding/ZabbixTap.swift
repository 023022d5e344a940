import NIOCore
import Relay
import ZabbixProtocol

/// Feeds relayed connections into a ``SidePipeline``: frames are cut out on the event loop (a
/// header parse and a copy of the frame), everything else happens on the pipeline's threads.
///
/// On a relay event loop the taps gather what they hand over in the loop's ``SideBatch``, offered
/// to the pipeline's queues once per iteration of the loop; a tap made without a loop (tests,
/// replays) offers it at the end of each call.
public struct ZabbixTapFactory: RelayTapFactory {
    let pipeline: SidePipeline
    /// The listener sits in front of a passive proxy (`listeners[].passive_proxy`).
    var passiveProxy = false

    public func makeTap(for connection: RelayConnectionInfo) -> (any RelayConnectionTap)? {
        ZabbixConnectionTap(
            pipeline: self.pipeline,
            connection: connection,
            passiveProxy: self.passiveProxy,
            batch: SideBatch(pipeline: self.pipeline),
            loop: nil
        )
    }

    public func makeTap(for connection: RelayConnectionInfo, on loop: RelayTapLoop) -> (any RelayConnectionTap)? {
        ZabbixConnectionTap(
            pipeline: self.pipeline,
            connection: connection,
            passiveProxy: self.passiveProxy,
            batch: loop.batch(for: self.pipeline) { SideBatch(pipeline: self.pipeline) },
            loop: loop
        )
    }
}

/// The per-connection tap: one incremental frame decoder per direction.
///
/// Its state is confined to the connection's event loop, and is touched on every read: its
/// stored `var`s are `@exclusivity(unchecked)`, without the run-time check of exclusive access
/// that every access spanning a call would otherwise pay (a feed calls back into the tap;
/// about a tenth of the tap's instructions per churn connection went to those checks).
final class ZabbixConnectionTap: RelayConnectionTap {
    private let pipeline: SidePipeline
    private let id: UInt64
    private let connection: RelayConnectionInfo
    @exclusivity(unchecked) private var client: ZabbixFrameDecoder
    @exclusivity(unchecked) private var server: ZabbixFrameDecoder
    /// Where this tap's items wait for the end of the event loop's iteration.
    private let batch: SideBatch
    /// The event loop (its time); `nil`: no loop, the tap flushes its batch after each call.
    private let loop: RelayTapLoop?
    /// Frames of this connection were skipped or dropped since the last one handed over.
    @exclusivity(unchecked) private var lost = false
    @exclusivity(unchecked) private var finished = false
    @exclusivity(unchecked) private var counted = false
    /// This connection's share of its decode worker.
    @exclusivity(unchecked) private var share: ConnectionDecodeShare
    /// Bytes taken from the pipeline's ``SidePipeline/frameBytes`` for the frame still arriving
    /// in each direction (its decoder's buffer).
    @exclusivity(unchecked) private var arriving: (client: Int, server: Int) = (0, 0)

    init(
        pipeline: SidePipeline,
        connection: RelayConnectionInfo,
        passiveProxy: Bool,
        batch: SideBatch,
        loop: RelayTapLoop?
    ) {
        self.pipeline = pipeline
        self.id = connection.id
        self.connection = connection
        self.batch = batch
        self.loop = loop
        let maximum = pipeline.configuration.maximumFrameSize
        self.client = ZabbixFrameDecoder(maximumFrameSize: maximum)
        self.server = ZabbixFrameDecoder(maximumFrameSize: maximum)
        self.share = ConnectionDecodeShare(maximumFrameSize: maximum, now: loop?.now ?? .now())
        let opened = SideWork.opened(
            connection: connection.id,
            listener: connection.listener,
            peerHost: connection.target.host,
            passiveProxy: passiveProxy
        )
        self.batch.gather(control: opened, connection: connection.id)
        self.handedOver()
    }

    /// Without an event loop nobody flushes the batch at the end of an iteration: each call does.
    private func handedOver() {
        if self.loop == nil { self.batch.flush() }
    }

    func observe(_ bytes: UnsafeRawBufferPointer, direction: RelayDirection) throws {
        guard !self.finished else { return }
        // The relay's buffer is reused after this call: a frame that arrived whole in it is
        // copied once, into the batch's arena; a frame spanning reads into its decoder's buffer.
        switch direction {
        case .clientToServer:
            self.client.feed(
                bytes,
                whole: { self.arrived($0, $1, from: .client) },
                other: { self.handle($0, from: .client) }
            )
        case .serverToClient:
            self.server.feed(
                bytes,
                whole: { self.arrived($0, $1, from: .server) },
                other: { self.handle($0, from: .server) }
            )
        }
        self.holdArriving(direction == .clientToServer ? .client : .server)
        self.handedOver()
    }

    /// Accounts the frame still arriving from `peer` (its decoder's buffer) in the pipeline's
    /// frame bytes; when it grew past them it is passed over. Called after each feed: a decoder
    /// cannot be looked at while it feeds.
    private func holdArriving(_ peer: ZabbixPeer) {
        let held = peer == .client ? self.client.bufferedCapacity : self.server.bufferedCapacity
        let reserved = peer == .client ? self.arriving.client : self.arriving.server
        guard held != reserved else { return }
        var now = held
        if held > reserved, !self.pipeline.frameBytes.reserve(held - reserved) {
            if peer == .client ? self.client.abandonFrame() : self.server.abandonFrame() {
                self.pipeline.statistics.failed(.queueFull)
                self.lost = true
            }
            now = 0
        }
        if now < reserved { self.pipeline.frameBytes.release(reserved - now) }
        if peer == .client { self.arriving.client = now } else { self.arriving.server = now }
    }

    /// The frame from `peer` is complete and out of its decoder: it is held as a frame handed
    /// over from now on, its bytes (`bytes`, or none when it is not decoded) reserved in the
    /// pipeline's frame bytes. Returns whether they could be.
    private func arrived(from peer: ZabbixPeer, keeping bytes: Int) -> Bool {
        let reserved = peer == .client ? self.arriving.client : self.arriving.server
        if peer == .client { self.arriving.client = 0 } else { self.arriving.server = 0 }
        if bytes <= reserved {
            self.pipeline.frameBytes.release(reserved - bytes)
            return true
        }
        if self.pipeline.frameBytes.reserve(bytes - reserved) { return true }
        self.pipeline.frameBytes.release(reserved)
        return false
    }

    func endOfStream(_ direction: RelayDirection) throws {
        guard !self.finished else { return }
        let event = direction == .clientToServer ? self.client.finish() : self.server.finish()
        if let event { self.handle(event, from: direction == .clientToServer ? .client : .server) }
        self.handedOver()
    }

    func connectionClosed() {
        self.pipeline.frameBytes.release(self.arriving.client + self.arriving.server)
        self.arriving = (0, 0)
        self.batch.gather(control: .closed(connection: self.id), connection: self.id)
        self.handedOver()
    }

    /// A frame from `peer` arrived whole in a read (`payload`, valid only during the call): the
    /// batch copies it, into its arena.
    private func arrived(_ header: ZabbixFrameHeader, _ payload: UnsafeRawBufferPointer, from peer: ZabbixPeer) {
        // None of it was held as arriving: only a frame that spans reads is.
        guard self.admit(header, from: peer) else { return }
        guard
            self.batch.gather(frame: header, copying: payload, from: peer, connection: self.id, afterLoss: self.lost)
        else {
            self.pipeline.statistics.failed(.queueFull)
            self.lost = true
            return
        }
        self.lost = false
    }

    /// Whether this connection's share of its decode worker admits a frame with `header` from
    /// `peer`; when it does not, the frame is passed over (counted).
    private func admit(_ header: ZabbixFrameHeader, from peer: ZabbixPeer) -> Bool {
        guard self.share.admit(Int(clamping: header.decodedLength), now: self.loop?.now ?? .now()) else {
            _ = self.arrived(from: peer, keeping: 0)
            self.pipeline.statistics.failed(.connectionShare)
            self.lost = true
            return false
        }
        return true
    }

    private func handle(_ event: ZabbixFrameEvent, from peer: ZabbixPeer) {
        let statistics = self.pipeline.statistics
        switch event {
        case .frame(let frame):
            // It spanned reads: its payload is in a buffer of its own (its decoder's).
            guard self.admit(frame.header, from: peer) else { return }
            let bytes = frame.payload.readableBytes
            guard self.arrived(from: peer, keeping: bytes) else {
                statistics.failed(.queueFull)
                self.lost = true
                return
            }
            let work = SideWork.frame(
                connection: self.id,
                peer: peer,
                header: frame.header,
                payload: .own(frame.payload),
                afterLoss: self.lost
            )
            guard self.batch.gather(frame: work, bytes: bytes, connection: self.id) else {
                self.pipeline.frameBytes.release(bytes)
                statistics.failed(.queueFull)
                self.lost = true
                return
            }
            self.lost = false
        case .skipped(let header):
            statistics.count(event)
            self.pipeline.frameSkipped(header, connection: self.connection, from: peer)
            self.lost = true
        case .tls, .notZabbix:
            // TLS from the first byte (relayed untouched, never decoded), a stream that ended
            // inside a frame (reset, close or idle timeout mid-frame), or bytes that are not ZBXD
            // framing: this connection is no longer decoded (relaying goes on), counted once.
            if !self.counted { statistics.count(event) }
            self.counted = true
            self.finished = true
        }
    }
}
