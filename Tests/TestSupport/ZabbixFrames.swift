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
