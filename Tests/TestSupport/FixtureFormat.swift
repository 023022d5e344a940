import CZlib
import Foundation

/// The fixture format (see `Fixtures/README.md`): one recorded TCP connection per directory,
/// `client.bin` + `server.bin` as a listener's `record:` option writes them, and a `meta.json`
/// (``FixtureMeta``) saying what produced it and which items it must decode to.
public enum FixtureFiles {
    /// `<package root>/Fixtures`, found from this source file's path.
    public static var root: String {
        URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures").path
    }

    /// Names of the fixture directories (those holding a `meta.json`), sorted.
    public static func names() -> [String] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []
        return entries.filter { FileManager.default.fileExists(atPath: "\(root)/\($0)/meta.json") }.sorted()
    }

    /// The bytes of `Fixtures/<name>/<file>`; empty if the file is missing.
    public static func bytes(_ name: String, _ file: String) -> [UInt8] {
        FileManager.default.contents(atPath: "\(root)/\(name)/\(file)").map(Array.init) ?? []
    }

    /// The parsed `meta.json` of fixture `name`.
    public static func meta(_ name: String) throws -> FixtureMeta {
        let data = try Data(contentsOf: URL(fileURLWithPath: "\(root)/\(name)/meta.json"))
        return try FixtureMeta.decoder.decode(FixtureMeta.self, from: data)
    }
}

/// `meta.json` of a fixture. Stable: fields are only ever added (bump ``format`` otherwise).
/// Optional fields are left out when absent. Documented in `Fixtures/README.md`.
public struct FixtureMeta: Codable, Sendable {
    /// Format version of this file.
    public var format: Int = 1
    /// The directory name.
    public var name: String
    public var description: String
    /// The program on the connecting side (whose bytes are `client.bin`), and its `-V` first line.
    public var program: String
    public var programVersion: String
    /// The program on the accepting side (whose bytes are `server.bin`), and its `-V` first line.
    public var peer: String
    public var peerVersion: String
    /// When the capture ran (UTC, ISO 8601).
    public var captured: String
    /// Listener name to decode with: the item catalog is namespaced by listener, so a fixture and
    /// its ``catalog`` fixture must be decoded under the same one.
    public var listener: String
    public var clientBytes: Int
    public var serverBytes: Int
    /// Distinct ZBXD flags bytes of the frames in each direction (`"0x01"`, `"0x03"`...), in order seen.
    public var clientFlags: [String]
    public var serverFlags: [String]
    /// ZBXD frames in each direction.
    public var clientFrames: Int
    public var serverFrames: Int
    /// What each frame is: `request` of a JSON request, `response` of a reply (`"response: success"`),
    /// `"passive check: <key>"`, `"passive reply"`, `"config"` for a proxy configuration reply.
    /// Read by the capture's own minimal frame reader, not by the product's decoder.
    public var requestTypes: [String]
    /// True when the connection is TLS (first byte 0x16): nothing is decodable.
    public var tls: Bool
    /// Name of the fixture whose traffic teaches the item catalog this one needs (decode it first,
    /// with the same catalog store and listener); absent when the values carry host and key.
    public var catalog: String?
    /// Whether replaying `client.bin` against the same kind of peer must give `server.bin` byte for byte.
    public var deterministic: Bool
    /// Why (or why not) ``deterministic``.
    public var deterministicNote: String
    /// Where ``items`` come from (never from zabbix-tee's own decoder).
    public var itemsSource: String
    /// False when the values carry no clock on the wire (passive checks, sender without `-T`):
    /// then every item's `clock`/`ns` is absent and the decoder must give none either.
    public var valuesHaveClock: Bool
    /// The item values the connection must decode to, exactly (compared as a multiset).
    public var items: [FixtureItem]
    /// The capture's own facts: what was sent, what the programs printed.
    public var notes: [String]
    /// The `meta.json` zabbix-tee's recorder wrote for this connection (absent for synthesized fixtures).
    public var recording: FixtureRecording?
    /// The Zabbix version of ``program`` (`6.0.14`, `8.0.0rc1`).
    public var version: String?
    /// True when no program produced the bytes: they were written from Zabbix's source and
    /// documentation (versions no Debian package ships, e.g. 8.0), see ``synthesizedFrom``.
    public var synthesized: Bool?
    /// For synthesized fixtures: the source files and documentation pages the shapes come from.
    public var synthesizedFrom: [String]?

    public init(
        name: String,
        description: String,
        program: String,
        programVersion: String,
        peer: String,
        peerVersion: String,
        captured: String,
        listener: String,
        clientBytes: Int,
        serverBytes: Int,
        clientFlags: [String],
        serverFlags: [String],
        clientFrames: Int,
        serverFrames: Int,
        requestTypes: [String],
        tls: Bool,
        catalog: String?,
        deterministic: Bool,
        deterministicNote: String,
        itemsSource: String,
        valuesHaveClock: Bool,
        items: [FixtureItem],
        notes: [String],
        recording: FixtureRecording?,
        version: String? = nil,
        synthesized: Bool? = nil,
        synthesizedFrom: [String]? = nil
    ) {
        self.name = name
        self.description = description
        self.program = program
        self.programVersion = programVersion
        self.peer = peer
        self.peerVersion = peerVersion
        self.captured = captured
        self.listener = listener
        self.clientBytes = clientBytes
        self.serverBytes = serverBytes
        self.clientFlags = clientFlags
        self.serverFlags = serverFlags
        self.clientFrames = clientFrames
        self.serverFrames = serverFrames
        self.requestTypes = requestTypes
        self.tls = tls
        self.catalog = catalog
        self.deterministic = deterministic
        self.deterministicNote = deterministicNote
        self.itemsSource = itemsSource
        self.valuesHaveClock = valuesHaveClock
        self.items = items
        self.notes = notes
        self.recording = recording
        self.version = version
        self.synthesized = synthesized
        self.synthesizedFrom = synthesizedFrom
    }

    /// The version in a program's `-V` first line (`zabbix_sender (Zabbix) 6.0.14` → `6.0.14`).
    public static func version(fromProgramVersion line: String) -> String? {
        line.split(separator: " ").last.map(String.init)
    }

    public static var decoder: JSONDecoder {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return decoder
    }

    public static var encoder: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return encoder
    }
}

/// One expected item value.
public struct FixtureItem: Codable, Sendable, Hashable {
    /// Host name; absent for passive checks (the wire carries none).
    public var host: String?
    public var key: String
    /// Only for itemid-shaped traffic (agent 2, proxy data): the itemid on the wire, from the server's database.
    public var itemid: UInt64?
    /// The value text (the error text when `state` is 1). Absent when the value is over 64 KiB:
    /// then ``valueLength`` (UTF-8 bytes) and ``valueSha256`` (lowercase hex) pin it exactly.
    public var value: String?
    public var valueLength: Int?
    public var valueSha256: String?
    /// First 64 characters of a value given by hash, for people reading the file.
    public var valuePrefix: String?
    /// Unix seconds and nanoseconds; absent when the value carries none.
    public var clock: Int64?
    public var ns: Int64?
    /// 0 normal, 1 not supported.
    public var state: Int
    /// Where this item's fields come from, when it differs from the fixture's `items_source`.
    public var source: String?

    public init(
        host: String?,
        key: String,
        itemid: UInt64? = nil,
        value: String,
        clock: Int64? = nil,
        ns: Int64? = nil,
        state: Int = 0,
        source: String? = nil
    ) {
        self.host = host
        self.key = key
        self.itemid = itemid
        self.clock = clock
        self.ns = ns
        self.state = state
        self.source = source
        self.setValue(value)
    }

    /// Values over 64 KiB are kept as length + SHA-256 (+ prefix), not inline.
    public static let inlineLimit = 65_536

    public mutating func setValue(_ value: String) {
        let bytes = Array(value.utf8)
        if bytes.count > Self.inlineLimit {
            self.value = nil
            self.valueLength = bytes.count
            self.valueSha256 = FixtureSHA256.hex(bytes)
            self.valuePrefix = String(value.prefix(64))
        } else {
            self.value = value
            self.valueLength = nil
            self.valueSha256 = nil
            self.valuePrefix = nil
        }
    }

    /// Whether `value` is this item's value (inline or by length and hash).
    public func matches(value: String) -> Bool {
        if let expected = self.value { return expected == value }
        let bytes = Array(value.utf8)
        return bytes.count == self.valueLength && FixtureSHA256.hex(bytes) == self.valueSha256
    }
}

/// The recorder's own `meta.json` (see `Sources/Tee/Recording/RecordingTapFactory.swift`).
public struct FixtureRecording: Codable, Sendable {
    public var listener: String?
    public var connection: UInt64?
    public var target: String?
    public var client: String?
    public var started: String?
    public var clientBytes: Int?
    public var serverBytes: Int?
    public var complete: Bool?
    /// The recorder is done with it (the connection closed or the tee stopped); `false` while the
    /// connection lasts. Absent in recordings made before the recorder wrote `meta.json` early.
    public var finished: Bool?
    /// Why it is not complete: `open`, `queue_full`, `write_error`, `max_bytes`, `shutdown`.
    public var incompleteReason: String?
    /// The system's wording of a write error.
    public var error: String?

    public init(json: Data) throws {
        self = try FixtureMeta.decoder.decode(FixtureRecording.self, from: json)
    }
}

/// A minimal ZBXD frame reader for the capture and the replay tests' frame boundaries: written
/// from the protocol notes, independent of the product's decoder on purpose.
public struct FixtureFrame: Sendable {
    public var flags: UInt8
    /// Offset of the frame's first byte in the stream, header and total length.
    public var offset: Int
    public var headerLength: Int
    public var totalLength: Int
    /// The payload as sent (compressed when flags has 0x02).
    public var wirePayload: [UInt8]
    /// The payload inflated when compressed; nil if it does not inflate.
    public var payload: [UInt8]?

    /// The payload as a JSON object, if it is one.
    public var json: [String: Any]? {
        guard let payload else { return nil }
        return (try? JSONSerialization.jsonObject(with: Data(payload))) as? [String: Any]
    }

    /// The frames of one direction; stops at the first thing that is not a whole ZBXD frame
    /// (TLS, garbage, a cut frame).
    public static func frames(_ bytes: [UInt8]) -> [FixtureFrame] {
        var frames: [FixtureFrame] = []
        var offset = 0
        while bytes.count - offset >= 13, Array(bytes[offset..<offset + 4]) == Array("ZBXD".utf8) {
            let flags = bytes[offset + 4]
            let large = flags & 0x04 != 0
            let header = large ? 21 : 13
            guard bytes.count - offset >= header else { break }
            let width = large ? 8 : 4
            let length = Self.little(bytes, offset + 5, width)
            let reserved = Self.little(bytes, offset + 5 + width, width)
            guard bytes.count - offset - header >= length else { break }
            let wire = Array(bytes[offset + header..<offset + header + length])
            let payload = flags & 0x02 != 0 ? Self.inflate(wire, size: reserved) : wire
            frames.append(
                FixtureFrame(
                    flags: flags,
                    offset: offset,
                    headerLength: header,
                    totalLength: header + length,
                    wirePayload: wire,
                    payload: payload
                )
            )
            offset += header + length
        }
        return frames
    }

    private static func little(_ bytes: [UInt8], _ at: Int, _ width: Int) -> Int {
        var value = 0
        for index in (0..<width).reversed() { value = value << 8 | Int(bytes[at + index]) }
        return value
    }

    /// zlib `uncompress` to exactly `size` bytes.
    public static func inflate(_ input: [UInt8], size: Int) -> [UInt8]? {
        var output = [UInt8](repeating: 0, count: max(size, 1))
        var length = uLongf(size)
        let status = output.withUnsafeMutableBufferPointer { out in
            input.withUnsafeBufferPointer { uncompress(out.baseAddress, &length, $0.baseAddress, uLong(input.count)) }
        }
        guard status == Z_OK, Int(length) == size else { return nil }
        return Array(output[..<size])
    }

    /// A short description of the frame: `request`, `response: <value>`, or for text payloads
    /// `passive check: <key>` (client) / `passive reply` (server).
    public func kind(fromClient: Bool) -> String {
        if let json {
            if let request = json["request"] as? String { return request }
            if let response = json["response"] as? String { return "response: \(response)" }
            if json["hosts"] != nil || json["items"] != nil { return "config" }
            return "json"
        }
        guard let payload else { return "undecodable" }
        return fromClient ? "passive check: \(String(decoding: payload, as: UTF8.self))" : "passive reply"
    }
}

/// SHA-256 (FIPS 180-4), for pinning large expected values in `meta.json` without storing them.
public enum FixtureSHA256 {
    private static let k: [UInt32] = [
        0x428a_2f98, 0x7137_4491, 0xb5c0_fbcf, 0xe9b5_dba5, 0x3956_c25b, 0x59f1_11f1, 0x923f_82a4, 0xab1c_5ed5,
        0xd807_aa98, 0x1283_5b01, 0x2431_85be, 0x550c_7dc3, 0x72be_5d74, 0x80de_b1fe, 0x9bdc_06a7, 0xc19b_f174,
        0xe49b_69c1, 0xefbe_4786, 0x0fc1_9dc6, 0x240c_a1cc, 0x2de9_2c6f, 0x4a74_84aa, 0x5cb0_a9dc, 0x76f9_88da,
        0x983e_5152, 0xa831_c66d, 0xb003_27c8, 0xbf59_7fc7, 0xc6e0_0bf3, 0xd5a7_9147, 0x06ca_6351, 0x1429_2967,
        0x27b7_0a85, 0x2e1b_2138, 0x4d2c_6dfc, 0x5338_0d13, 0x650a_7354, 0x766a_0abb, 0x81c2_c92e, 0x9272_2c85,
        0xa2bf_e8a1, 0xa81a_664b, 0xc24b_8b70, 0xc76c_51a3, 0xd192_e819, 0xd699_0624, 0xf40e_3585, 0x106a_a070,
        0x19a4_c116, 0x1e37_6c08, 0x2748_774c, 0x34b0_bcb5, 0x391c_0cb3, 0x4ed8_aa4a, 0x5b9c_ca4f, 0x682e_6ff3,
        0x748f_82ee, 0x78a5_636f, 0x84c8_7814, 0x8cc7_0208, 0x90be_fffa, 0xa450_6ceb, 0xbef9_a3f7, 0xc671_78f2,
    ]

    public static func hex(_ message: [UInt8]) -> String {
        var h: [UInt32] = [
            0x6a09_e667, 0xbb67_ae85, 0x3c6e_f372, 0xa54f_f53a, 0x510e_527f, 0x9b05_688c, 0x1f83_d9ab, 0x5be0_cd19,
        ]
        var data = message
        data.append(0x80)
        while data.count % 64 != 56 { data.append(0) }
        let bits = UInt64(message.count) * 8
        for shift in stride(from: 56, through: 0, by: -8) {
            data.append(UInt8(truncatingIfNeeded: bits >> UInt64(shift)))
        }
        var w = [UInt32](repeating: 0, count: 64)
        func rotr(_ x: UInt32, _ n: UInt32) -> UInt32 { x >> n | x << (32 - n) }
        for chunk in stride(from: 0, to: data.count, by: 64) {
            for i in 0..<16 {
                let j = chunk + i * 4
                w[i] =
                    UInt32(data[j]) << 24 | UInt32(data[j + 1]) << 16 | UInt32(data[j + 2]) << 8 | UInt32(data[j + 3])
            }
            for i in 16..<64 {
                let s0 = rotr(w[i - 15], 7) ^ rotr(w[i - 15], 18) ^ (w[i - 15] >> 3)
                let s1 = rotr(w[i - 2], 17) ^ rotr(w[i - 2], 19) ^ (w[i - 2] >> 10)
                w[i] = w[i - 16] &+ s0 &+ w[i - 7] &+ s1
            }
            var (a, b, c, d, e, f, g, hh) = (h[0], h[1], h[2], h[3], h[4], h[5], h[6], h[7])
            for i in 0..<64 {
                let s1 = rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)
                let ch = (e & f) ^ (~e & g)
                let t1 = hh &+ s1 &+ ch &+ k[i] &+ w[i]
                let s0 = rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)
                let maj = (a & b) ^ (a & c) ^ (b & c)
                let t2 = s0 &+ maj
                (hh, g, f, e, d, c, b, a) = (g, f, e, d &+ t1, c, b, a, t1 &+ t2)
            }
            h[0] = h[0] &+ a
            h[1] = h[1] &+ b
            h[2] = h[2] &+ c
            h[3] = h[3] &+ d
            h[4] = h[4] &+ e
            h[5] = h[5] &+ f
            h[6] = h[6] &+ g
            h[7] = h[7] &+ hh
        }
        return h.map { word in
            let text = String(word, radix: 16)
            return String(repeating: "0", count: 8 - text.count) + text
        }.joined()
    }
}
