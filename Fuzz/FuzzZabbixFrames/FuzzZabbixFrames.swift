import FuzzSupport
import NIOCore
import ZabbixProtocol

// Fuzzes the side pipeline of one connection direction: ZabbixFrameDecoder fed in fuzzer-chosen
// pieces, ZabbixInflater on compressed frames, ZabbixConversation on the payloads, itemValues and
// ItemCatalog.learn on the messages.
//
// Input layout:
//   byte 0   chunk size: the stream is fed in pieces of (byte0 % 64) + 1 bytes; 0xFF feeds pieces
//            of 1, 2, 3, … bytes.
//   byte 1   low 3 bits: maximumFrameSize (see `limits`); bit 3: the stream is the server's
//            direction; bits 4–7: reserved.
//   rest     the TCP byte stream.
//
// Invariants (trap on violation):
//   * bufferedByteCount ≤ largeLength + maximumFrameSize after every feed;
//   * whole and piecewise feeding give the same events and the same finish() result;
//   * nothing follows .tls / .notZabbix; frames respect the limit and their header's length;
//   * an inflated payload has exactly the announced size and the inflater honours its limit;
//   * cost budget (ASan builds): inflating never takes more heap than a few times what zlib can
//     produce from the compressed bytes (whatever `reserved` claims), and decoding a payload never
//     more than a few times its size plus the conversation's budget (whatever its shape).

private let limits = [0, 1, 13, 64, 256, 4096, 65536, 1 << 20]
/// What one payload may keep (the conversation's budget).
private let budget = 64 << 10

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard size >= 2, let data else { return 0 }
    let input = UnsafeBufferPointer(start: data, count: size)
    let chunkSelector = input[0]
    let limit = limits[Int(input[1] & 0x07)]
    let peer: ZabbixPeer = input[1] & 0x08 != 0 ? .server : .client
    let stream = UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(input)[2...])

    // Whole.
    var whole = ZabbixFrameDecoder(maximumFrameSize: limit)
    var wholeEvents: [ZabbixFrameEvent] = []
    var buffer = ByteBuffer(bytes: stream)
    whole.feed(buffer) { wholeEvents.append($0) }
    FuzzSupport.check(
        whole.bufferedByteCount <= ZabbixFrameHeader.largeLength + limit,
        "whole: buffered \(whole.bufferedByteCount) > \(ZabbixFrameHeader.largeLength) + \(limit)"
    )
    let wholeFinish = whole.finish()
    FuzzSupport.check(whole.isStopped, "finish() must stop the decoder")

    // Piecewise.
    var split = ZabbixFrameDecoder(maximumFrameSize: limit)
    var splitEvents: [ZabbixFrameEvent] = []
    var offset = 0
    var step = 1
    while offset < stream.count {
        let length: Int
        if chunkSelector == 0xFF {
            length = min(step, stream.count - offset)
            step += 1
        } else {
            length = min(Int(chunkSelector % 64) + 1, stream.count - offset)
        }
        buffer = ByteBuffer(bytes: UnsafeRawBufferPointer(rebasing: stream[offset..<(offset + length)]))
        split.feed(buffer) { splitEvents.append($0) }
        offset += length
        FuzzSupport.check(
            split.bufferedByteCount <= ZabbixFrameHeader.largeLength + limit,
            "split: buffered \(split.bufferedByteCount) > \(ZabbixFrameHeader.largeLength) + \(limit)"
        )
        if split.isAtFrameBoundary {
            FuzzSupport.check(split.bufferedByteCount == 0, "bytes buffered at a frame boundary")
        }
    }
    let splitFinish = split.finish()
    FuzzSupport.check(wholeEvents == splitEvents, "whole and split feeding disagree:\n\(wholeEvents)\n\(splitEvents)")
    FuzzSupport.check(
        wholeFinish == splitFinish,
        "finish() disagrees: \(String(describing: wholeFinish)) vs \(String(describing: splitFinish))"
    )

    // A stopped decoder ignores input.
    let afterFinish = split.feed(ByteBuffer(bytes: stream))
    FuzzSupport.check(afterFinish.isEmpty, "a finished decoder emitted \(afterFinish)")

    // Event sequence and frame checks; then the rest of the side pipeline.
    let inflater = ZabbixInflater(maximumSize: limit)
    var conversation = ZabbixConversation(budget: budget)
    var catalog = ItemCatalog(maximumEntries: 64)
    var filter = DuplicateFilter(maximumSessions: 8)
    var consumed = 0
    for (index, event) in wholeEvents.enumerated() {
        switch event {
        case .tls, .notZabbix:
            FuzzSupport.check(index == wholeEvents.count - 1, "event after the decoder stopped: \(wholeEvents)")
            if case .tls = event { FuzzSupport.check(index == 0 && stream.first == 0x16, "TLS not at stream start") }
        case .skipped(let header):
            FuzzSupport.check(
                header.dataLength > UInt64(limit) || (header.isCompressed && header.reserved > UInt64(limit)),
                "skipped a frame within the limit: \(header)"
            )
            // Header plus the passed-over payload (clamped: the stream may end inside it).
            consumed += header.length + Int(min(header.dataLength, UInt64(stream.count)))
            conversation.forgetFrame(from: peer)
        case .frame(let frame):
            FuzzSupport.check(frame.payload.readableBytes == Int(frame.header.dataLength), "payload length != datalen")
            FuzzSupport.check(frame.payload.readableBytes <= limit, "frame above the limit")
            // The frame re-encodes to the bytes it was decoded from.
            let encoded = frame.header.encoded() + Array(frame.payload.readableBytesView)
            FuzzSupport.check(
                consumed + encoded.count <= stream.count
                    && encoded.elementsEqual(stream[consumed..<(consumed + encoded.count)]),
                "frame does not re-encode to its input bytes at offset \(consumed)"
            )
            consumed += encoded.count
            let payload: ByteBuffer
            do {
                // zlib inflates at most 1032 bytes per compressed byte: the claim in `reserved`
                // must not cost more than what could really come out.
                let possible = min(Int(frame.header.decodedLength) + 1, 1032 * frame.payload.readableBytes + 64)
                payload = try FuzzSupport.withinAllocationBudget(
                    4 * possible + (256 << 10),
                    "inflating \(frame.header)"
                ) {
                    try inflater.decodedPayload(of: frame)
                }
            } catch {
                conversation.forgetFrame(from: peer)
                continue
            }
            if frame.header.isCompressed {
                FuzzSupport.check(
                    UInt64(payload.readableBytes) == frame.header.reserved && payload.readableBytes <= limit,
                    "inflated \(payload.readableBytes) bytes, announced \(frame.header.reserved)"
                )
            }
            // Alternate peers so that requests get replies on the same conversation.
            let sender: ZabbixPeer = index % 2 == 0 ? peer : peer.other
            let decoded = FuzzSupport.withinAllocationBudget(
                8 * payload.readableBytes + 4 * budget + (64 << 10),
                "decoding \(payload.readableBytes) bytes"
            ) { try? conversation.decode(payload, from: sender) }
            guard let message = decoded else {
                conversation.forgetFrame(from: sender)
                continue
            }
            let values = message.itemValues
            _ = filter.filter(values)
            switch message {
            case .activeChecksResponse(let response): catalog.learn(response, listener: "fuzz")
            case .proxyConfig(let config): catalog.learn(config, listener: "fuzz", proxy: config.proxyHost ?? "")
            default: break
            }
            for value in values { _ = catalog.resolved(value, listener: "fuzz") }
            _ = message.hashValue
        }
    }
    FuzzSupport.check(catalog.count <= 64, "catalog above its limit")
    return 0
}

@main
enum Main {
    static func main() { FuzzSupport.main(fuzzTestOneInput) }
}
