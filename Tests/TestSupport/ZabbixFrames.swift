import CZlib

/// Builds ZBXD frames the way the real Zabbix programs write them (see the protocol notes:
/// flags 0x01 plain, 0x03 zlib-compressed with the uncompressed size in `reserved`).
public enum ZabbixFrames {
    /// `ZBXD\x01` + 4-byte LE length + 4 zero bytes + payload (agentd, sender, server replies).
    public static func plain(_ payload: String) -> [UInt8] {
        self.frame(flags: 0x01, payload: Array(payload.utf8), reserved: 0)
    }

    /// Flags 0x03, zlib payload, `reserved` = uncompressed size (agent 2, proxies).
    public static func compressed(_ payload: String) -> [UInt8] {
        let bytes = Array(payload.utf8)
        var length = compressBound(uLong(bytes.count))
        var output = [UInt8](repeating: 0, count: Int(length))
        let status = output.withUnsafeMutableBufferPointer { out in
            bytes.withUnsafeBufferPointer { input in
                compress(out.baseAddress, &length, input.baseAddress, uLong(bytes.count))
            }
        }
        precondition(status == Z_OK, "zlib compress failed: \(status)")
        return self.frame(flags: 0x03, payload: Array(output[..<Int(length)]), reserved: UInt32(bytes.count))
    }

    /// A frame with any flags, payload and reserved field (for malformed-input tests).
    public static func frame(flags: UInt8, payload: [UInt8], reserved: UInt32) -> [UInt8] {
        var frame = Array("ZBXD".utf8) + [flags]
        withUnsafeBytes(of: UInt32(payload.count).littleEndian) { frame += $0 }
        withUnsafeBytes(of: reserved.littleEndian) { frame += $0 }
        return frame + payload
    }
}

extension ZabbixFrames {
    /// A compressed frame (flags 0x03) whose payload is `prefix`, then `count` times `element`
    /// separated by `separator`, then `suffix` — compressed as it is generated, never held whole,
    /// so a test can send a frame that inflates to hundreds of MiB. `reserved` is the payload's
    /// size unless given (a lying one).
    public static func compressedPattern(
        prefix: String,
        element: String,
        separator: String = ",",
        count: Int,
        suffix: String,
        reserved: UInt32? = nil
    ) -> [UInt8] {
        let (prefix, element, separator, suffix) = (
            Array(prefix.utf8), Array(element.utf8), Array(separator.utf8), Array(suffix.utf8)
        )
        var stream = z_stream()
        // A run of one byte compresses fastest as runs (level 1 would search for matches).
        let oneByte = separator.isEmpty && Set(element).count == 1
        deflateInit2_(
            &stream,
            1,
            Z_DEFLATED,
            15,
            8,
            oneByte ? Z_RLE : Z_DEFAULT_STRATEGY,
            zlibVersion(),
            Int32(MemoryLayout<z_stream>.size)
        )
        defer { deflateEnd(&stream) }
        var compressed: [UInt8] = []
        var size = 0
        var chunk = [UInt8](repeating: 0, count: 256 << 10)
        func feed(_ bytes: [UInt8], finish: Bool = false) {
            size += bytes.count
            var input = bytes
            input.withUnsafeMutableBufferPointer { input in
                stream.next_in = input.baseAddress
                stream.avail_in = uInt(input.count)
                repeat {
                    chunk.withUnsafeMutableBufferPointer { output in
                        stream.next_out = output.baseAddress
                        stream.avail_out = uInt(output.count)
                        deflate(&stream, finish ? Z_FINISH : Z_NO_FLUSH)
                        compressed += output[0..<(output.count - Int(stream.avail_out))]
                    }
                } while stream.avail_in > 0 || (finish && stream.avail_out == 0)
            }
        }
        feed(prefix)
        // Whole blocks of about 1 MiB of `element` + `separator` (built by doubling), then the
        // rest one by one.
        var block = element + separator
        while !block.isEmpty && block.count < 1 << 20 { block += block }
        let perBlock = max(1, block.count / max(1, element.count + separator.count))
        var left = count
        while left > perBlock {
            feed(block)
            left -= perBlock
        }
        for index in 0..<left { feed(index == left - 1 ? element : element + separator) }
        feed(suffix, finish: true)
        return self.frame(flags: 0x03, payload: compressed, reserved: reserved ?? UInt32(size))
    }

    /// The uncompressed frame (flags 0x01) of the same pattern, built by doubling.
    public static func plainPattern(
        prefix: String,
        element: String,
        separator: String = ",",
        count: Int,
        suffix: String
    ) -> [UInt8] {
        let unit = Array((element + separator).utf8)
        var body: [UInt8] = []
        body.reserveCapacity(unit.count * count)
        body += unit
        while body.count * 2 <= unit.count * count { body += body }
        // The body repeats the unit: any prefix of it continues it.
        body += body.prefix(unit.count * count - body.count)
        body.removeLast(separator.utf8.count)
        return self.frame(flags: 0x01, payload: Array(prefix.utf8) + body + Array(suffix.utf8), reserved: 0)
    }
}
