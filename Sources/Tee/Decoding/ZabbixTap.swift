import NIOCore
import Relay
import ZabbixProtocol

/// Feeds relayed connections into a ``SidePipeline``: frames are cut out on the event loop (a
/// header parse and, only for frames spanning reads, a copy), everything else happens on the
/// pipeline's threads.
public struct ZabbixTapFactory: RelayTapFactory {
    let pipeline: SidePipeline
    /// The listener sits in front of a passive proxy (`listeners[].passive_proxy`).
    var passiveProxy = false

    public func makeTap(for connection: RelayConnectionInfo) -> (any RelayConnectionTap)? {
        ZabbixConnectionTap(pipeline: self.pipeline, connection: connection, passiveProxy: self.passiveProxy)
    }
}

/// The per-connection tap: one incremental frame decoder per direction.
final class ZabbixConnectionTap: RelayConnectionTap {
    private let pipeline: SidePipeline
    private let id: UInt64
    private let connection: RelayConnectionInfo
    private var client: ZabbixFrameDecoder
    private var server: ZabbixFrameDecoder
    /// Frames of this connection were skipped or dropped since the last one handed over.
    private var lost = false
    private var finished = false
    private var counted = false
    /// This connection's share of its decode worker.
    private var share: ConnectionDecodeShare
    /// Bytes taken from the pipeline's ``SidePipeline/frameBytes`` for the frame still arriving
    /// in each direction (its decoder's buffer).
    private var arriving: (client: Int, server: Int) = (0, 0)

    init(pipeline: SidePipeline, connection: RelayConnectionInfo, passiveProxy: Bool) {
        self.pipeline = pipeline
        self.id = connection.id
        self.connection = connection
        let maximum = pipeline.configuration.maximumFrameSize
        self.client = ZabbixFrameDecoder(maximumFrameSize: maximum)
        self.server = ZabbixFrameDecoder(maximumFrameSize: maximum)
        self.share = ConnectionDecodeShare(maximumFrameSize: maximum, now: .now())
        _ = pipeline.submit(
            .opened(
                connection: connection.id,
                listener: connection.listener,
                peerHost: connection.target.host,
                passiveProxy: passiveProxy
            ),
            connection: connection.id,
            control: true
        )
    }

    func observe(_ bytes: UnsafeRawBufferPointer, direction: RelayDirection) throws {
        guard !self.finished else { return }
        // The relay's buffer is reused after this call: one copy per read, and a frame that
        // arrived whole in it is a slice of that copy (no second copy).
        let bytes = ByteBuffer(bytes: bytes)
        switch direction {
        case .clientToServer:
            self.client.feed(bytes) { self.handle($0, from: .client) }
        case .serverToClient:
            self.server.feed(bytes) { self.handle($0, from: .server) }
        }
        self.holdArriving(direction == .clientToServer ? .client : .server)
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

    /// The frame from `peer` is complete and out of its decoder: it is held as a queued frame
    /// from now on.
    private func arrived(from peer: ZabbixPeer) {
        self.pipeline.frameBytes.release(peer == .client ? self.arriving.client : self.arriving.server)
        if peer == .client { self.arriving.client = 0 } else { self.arriving.server = 0 }
    }

    func endOfStream(_ direction: RelayDirection) throws {
        guard !self.finished else { return }
        let event = direction == .clientToServer ? self.client.finish() : self.server.finish()
        if let event { self.handle(event, from: direction == .clientToServer ? .client : .server) }
    }

    func connectionClosed() {
        self.pipeline.frameBytes.release(self.arriving.client + self.arriving.server)
        self.arriving = (0, 0)
        _ = self.pipeline.submit(.closed(connection: self.id), connection: self.id, control: true)
    }

    private func handle(_ event: ZabbixFrameEvent, from peer: ZabbixPeer) {
        let statistics = self.pipeline.statistics
        switch event {
        case .frame(let frame):
            self.arrived(from: peer)
            guard self.share.admit(Int(clamping: frame.header.decodedLength), now: .now()) else {
                statistics.failed(.connectionShare)
                self.lost = true
                return
            }
            let accepted = self.pipeline.submit(
                .frame(connection: self.id, peer: peer, frame: frame, afterLoss: self.lost),
                connection: self.id,
                bytes: frame.payload.readableBytes
            )
            if accepted {
                self.lost = false
            } else {
                statistics.failed(.queueFull)
                self.lost = true
            }
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
