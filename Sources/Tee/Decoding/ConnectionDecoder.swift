import Foundation
import NIOCore
import ZabbixProtocol

/// The decoding state of one relayed connection: frames → messages → item values.
///
/// Shared by the side pipeline's workers and by ``CaptureDecoder`` (the `decode` command and
/// the fixture tests), so that recorded traffic is decoded exactly as live traffic is.
struct ConnectionDecoder {
    let listener: String
    /// The relay target's host: names the agent in passive checks, which carry no host name.
    let peerHost: String?
    private var conversation: ZabbixConversation

    /// - Parameter maximumFrameSize: `decode.max_frame_size`, which sets what one payload may
    ///   keep (``payloadBudget(maximumFrameSize:)``).
    init(listener: String, peerHost: String?, maximumFrameSize: Int) {
        self.listener = listener
        self.peerHost = peerHost
        self.conversation = ZabbixConversation(budget: Self.payloadBudget(maximumFrameSize: maximumFrameSize))
    }

    /// What one payload may keep (``ZabbixConversation/budget``): `decode.max_frame_size`, and at
    /// least 64 MiB — about 90 000 values (an agent sends at most 65 535 per frame) or 600 000
    /// proxy configuration items — so that a small frame limit never refuses a legitimate frame
    /// for the memory its values take.
    static func payloadBudget(maximumFrameSize: Int) -> Int {
        max(maximumFrameSize, 64 << 20)
    }

    /// Inflates and decodes one frame; `nil` (counted in `statistics`) when it cannot be decoded.
    mutating func decode(
        _ frame: ZabbixFrame, from peer: ZabbixPeer, afterLoss: Bool, inflater: ZabbixInflater, statistics: DecodeStatistics
    ) -> ZabbixMessage? {
        if afterLoss { self.conversation.forgetFrame(from: peer) }
        let payload: ByteBuffer
        do {
            payload = try inflater.decodedPayload(of: frame)
        } catch {
            statistics.failed(.corruptCompression)
            self.conversation.forgetFrame(from: peer)
            return nil
        }
        defer { statistics.rowsDropped(self.conversation.takeDroppedRows()) }
        do {
            let message = try self.conversation.decode(payload, from: peer)
            statistics.frameDecoded(message: message.kindName, flags: frame.header.flags.rawValue)
            return message
        } catch {
            switch error {
            case .invalidJSON: statistics.failed(.invalidJSON)
            case .budgetExceeded: statistics.failed(.budgetExceeded)
            }
            self.conversation.forgetFrame(from: peer)
            return nil
        }
    }

    /// The item values of `message`, duplicates removed by `deduplicate`, ready for the catalog.
    func values(
        of message: ZabbixMessage, connection: UInt64, statistics: DecodeStatistics,
        deduplicate: ([ItemValue]) -> [ItemValue]
    ) -> [DecodedValue] {
        let rows = message.itemValues
        guard !rows.isEmpty else { return [] }
        var values = deduplicate(rows)
        if values.count < rows.count { statistics.duplicatesDropped(rows.count - values.count) }
        if case .passiveCheckResponse = message {
            for index in values.indices where values[index].host == nil {
                values[index].host = self.peerHost
            }
        }
        let seenAt = Int64(Date().timeIntervalSince1970 * 1_000_000)
        return values.map {
            DecodedValue(value: $0, listener: self.listener, connection: connection, seenAtMicros: seenAt, peerHost: self.peerHost)
        }
    }
}
