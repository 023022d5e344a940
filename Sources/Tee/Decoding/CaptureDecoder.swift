import NIOCore
import ZabbixProtocol

/// Decodes one recorded connection (`client.bin`, `server.bin`, as written by a listener's
/// `record:` option) the way the side pipeline decodes live traffic.
///
/// Zabbix never pipelines: every exchange alternates request and reply, so the frames of the
/// two files are decoded alternately, starting with the client's.
public struct CaptureDecoder {
    /// What one capture decodes to.
    public struct Result: Sendable {
        /// Every decoded message, with the side that sent it, in decoding order.
        public var messages: [(peer: ZabbixPeer, message: ZabbixMessage)]
        /// The item values the replies accepted, resolved through ``catalog`` where they carry
        /// only itemids.
        public var values: [DecodedValue]
        /// How the stream was framed: TLS, not ZBXD, oversized frames...
        public var statistics: DecodeStatistics
    }

    public let configuration: DecodeConfiguration
    /// The catalog to learn from and resolve with; pass the same store to several decoders to
    /// carry what one connection taught (an agent's `active checks`) to the next (its data).
    public let catalog: ItemCatalogStore
    public let listener: String
    public let peerHost: String?
    /// Decode as a listener in front of a passive proxy (`listeners[].passive_proxy`).
    public let passiveProxy: Bool
    /// Rows accepted so far, shared by every ``decode(client:server:chunkSize:connection:)`` of this
    /// decoder (a retry in a later recording is dropped as the server drops it).
    private let duplicates: SharedDuplicateFilter
    /// What values waiting for their reply may hold (`decode.queue_bytes`).
    private let budget: ByteBudget

    public init(
        listener: String = "capture",
        peerHost: String? = nil,
        passiveProxy: Bool = false,
        configuration: DecodeConfiguration = DecodeConfiguration(),
        catalog: ItemCatalogStore? = nil
    ) {
        self.configuration = configuration
        self.listener = listener
        self.peerHost = peerHost
        self.passiveProxy = passiveProxy
        self.catalog = catalog ?? ItemCatalogStore(configuration: configuration)
        self.duplicates = SharedDuplicateFilter(maximumSessions: configuration.duplicateSessions)
        self.budget = ByteBudget(limit: configuration.queueBytes)
    }

    /// Decodes the two directions of a connection, fed to the frame decoders in pieces of at most
    /// `chunkSize` bytes (to check that where the relay's reads split the stream does not matter).
    /// Values are those the replies accepted, as live; values whose itemid the catalog does not
    /// know are returned with key `itemid:N` (or left out, by `catalog.unresolved`).
    public func decode(client: [UInt8], server: [UInt8], chunkSize: Int = .max, connection: UInt64 = 1) -> Result {
        let statistics = DecodeStatistics()
        // The connection's first byte decides: TLS (0x16) is relayed, never decoded, counted once.
        if client.first == 0x16 {
            statistics.tlsConnection()
            return Result(messages: [], values: [], statistics: statistics)
        }
        let clientFrames = Self.frames(
            client,
            chunkSize: chunkSize,
            maximum: self.configuration.maximumFrameSize,
            statistics: statistics
        )
        let serverFrames = Self.frames(
            server,
            chunkSize: chunkSize,
            maximum: self.configuration.maximumFrameSize,
            statistics: statistics
        )
        let context = DecodeContext(
            catalog: self.catalog,
            duplicates: self.duplicates,
            statistics: statistics,
            inflater: ZabbixInflater(maximumSize: self.configuration.maximumFrameSize),
            budget: self.budget,
            keepsMessages: true
        )
        var decoder = ConnectionDecoder(
            listener: self.listener,
            peerHost: self.peerHost,
            passiveProxy: self.passiveProxy,
            connection: connection,
            maximumFrameSize: self.configuration.maximumFrameSize
        )
        var result = Result(messages: [], values: [], statistics: statistics)
        func take(_ step: ConnectionDecoder.Step) {
            result.values += step.ready
            result.values += UnresolvedValues.settle(
                step.unresolved,
                action: self.configuration.unresolvedAction,
                statistics: statistics
            )
        }
        var (nextClient, nextServer) = (0, 0)
        while nextClient < clientFrames.count || nextServer < serverFrames.count {
            let peer: ZabbixPeer =
                nextClient < clientFrames.count && (nextClient <= nextServer || nextServer >= serverFrames.count)
                ? .client : .server
            let (frame, afterLoss) = peer == .client ? clientFrames[nextClient] : serverFrames[nextServer]
            if peer == .client { nextClient += 1 } else { nextServer += 1 }
            let step = decoder.process(frame, from: peer, afterLoss: afterLoss, context: context)
            if let message = step.message { result.messages.append((peer, message)) }
            if let redirect = step.redirect {
                statistics.redirected(
                    listener: self.listener,
                    address: redirect.address ?? (redirect.reset ? "reset" : "unknown")
                )
            }
            take(step)
        }
        take(decoder.finish(context: context))
        take(ConnectionDecoder.Step(unresolved: self.catalog.drainPending()))
        return result
    }

    /// The frames of one direction, each with whether frames were skipped before it.
    private static func frames(
        _ bytes: [UInt8],
        chunkSize: Int,
        maximum: Int,
        statistics: DecodeStatistics
    ) -> [(ZabbixFrame, Bool)] {
        var decoder = ZabbixFrameDecoder(maximumFrameSize: maximum)
        var frames: [(ZabbixFrame, Bool)] = []
        var lost = false
        var offset = 0
        func handle(_ event: ZabbixFrameEvent) {
            statistics.count(event)
            switch event {
            case .frame(let frame):
                frames.append((frame, lost))
                lost = false
            case .skipped: lost = true
            case .tls, .notZabbix: break
            }
        }
        while offset < bytes.count {
            let end = min(bytes.count, offset + max(1, min(chunkSize, bytes.count)))
            decoder.feed(ByteBuffer(bytes: bytes[offset..<end]), handle)
            offset = end
        }
        if let event = decoder.finish() { handle(event) }
        return frames
    }
}
