import CZlib
import NIOCore
import TestSupport
import ZabbixProtocol

extension ByteBuffer {
    init(bytes: [UInt8]) {
        self = ByteBufferAllocator().buffer(capacity: bytes.count)
        self.writeBytes(bytes)
    }
    var bytes: [UInt8] { Array(self.readableBytesView) }
}

func hex(_ text: String) -> [UInt8] {
    let digits = Array(text.filter { $0.isHexDigit })
    return stride(from: 0, to: digits.count, by: 2).map { UInt8(String(digits[$0...$0 + 1]), radix: 16)! }
}

/// zlib `compress()` at the default level, as the Zabbix C code does.
func zlibCompress(_ input: [UInt8]) -> [UInt8] {
    var length = compressBound(uLong(input.count))
    var output = [UInt8](repeating: 0, count: Int(length))
    let status = output.withUnsafeMutableBufferPointer { out in
        input.withUnsafeBufferPointer { inp in
            compress(out.baseAddress, &length, inp.baseAddress, uLong(input.count))
        }
    }
    precondition(status == Z_OK)
    return Array(output.prefix(Int(length)))
}

/// A plain frame (flags 0x01, reserved 0).
func plainFrame(_ payload: [UInt8], reserved: UInt64 = 0) -> [UInt8] {
    ZabbixFrameHeader(flags: .zabbixProtocol, dataLength: UInt64(payload.count), reserved: reserved).encoded() + payload
}

func plainFrame(_ payload: String) -> [UInt8] { plainFrame(Array(payload.utf8)) }

/// A compressed frame (flags 0x03, reserved = inflated size), as agent 2 and proxies send.
func compressedFrame(_ payload: [UInt8], large: Bool = false) -> [UInt8] {
    let compressed = zlibCompress(payload)
    var flags: ZabbixFrameFlags = [.zabbixProtocol, .compressed]
    if large { flags.insert(.large) }
    return ZabbixFrameHeader(flags: flags, dataLength: UInt64(compressed.count), reserved: UInt64(payload.count))
        .encoded() + compressed
}

func compressedFrame(_ payload: String) -> [UInt8] { compressedFrame(Array(payload.utf8)) }

/// Feeds `chunks` to a fresh decoder, then finishes it.
func decodeAll(_ chunks: [[UInt8]], maximumFrameSize: Int = 1 << 20) -> [ZabbixFrameEvent] {
    var decoder = ZabbixFrameDecoder(maximumFrameSize: maximumFrameSize)
    var events: [ZabbixFrameEvent] = []
    for chunk in chunks {
        decoder.feed(ByteBuffer(bytes: chunk)) { events.append($0) }
    }
    if let last = decoder.finish() { events.append(last) }
    return events
}

/// Every way the tests split a stream: whole, one byte at a time, and in two at every offset.
func splits(of stream: [UInt8]) -> [[[UInt8]]] {
    var result: [[[UInt8]]] = [[stream], stream.map { [$0] }]
    for cut in 0...stream.count {
        result.append([Array(stream[..<cut]), Array(stream[cut...])])
    }
    return result
}
