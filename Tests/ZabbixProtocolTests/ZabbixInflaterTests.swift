import NIOCore
import TestSupport
import Testing

@testable import ZabbixProtocol

@Suite struct ZabbixInflaterTests {
    let json = Array(
        #"{"request":"proxy data","host":"tee-lab-proxy","session":"e020992624c1bd4010a0d59805f072aa","version":"6.0.14","clock":1795236264,"ns":71407569}"#
            .utf8
    )

    @Test func inflatesToExactlyTheAnnouncedSize() throws {
        let compressed = zlibCompress(self.json)
        #expect(compressed.prefix(2) == [0x78, 0x9c])
        let out = try ZabbixInflater().inflate(ByteBuffer(bytes: compressed), expectedSize: UInt64(self.json.count))
        #expect(out.bytes == self.json)
    }

    @Test func decodedPayloadInflatesCompressedFramesAndPassesPlainOnesThrough() throws {
        for stream in [compressedFrame(self.json), plainFrame(self.json, reserved: 7)] {
            guard case .frame(let frame) = decodeAll([stream]).first else {
                Issue.record("no frame")
                continue
            }
            #expect(try ZabbixInflater().decodedPayload(of: frame).bytes == self.json)
        }
    }

    @Test func inflatesEmptyPayload() throws {
        let out = try ZabbixInflater().inflate(ByteBuffer(bytes: zlibCompress([])), expectedSize: 0)
        #expect(out.readableBytes == 0)
    }

    @Test func reservedSmallerThanTheDataIsASizeMismatch() {
        #expect(throws: ZabbixInflateError.sizeMismatch(expected: 10, actual: nil)) {
            try ZabbixInflater().inflate(ByteBuffer(bytes: zlibCompress(self.json)), expectedSize: 10)
        }
    }

    @Test func reservedLargerThanTheDataIsASizeMismatch() {
        let expected = UInt64(self.json.count + 5)
        #expect(throws: ZabbixInflateError.sizeMismatch(expected: expected, actual: self.json.count)) {
            try ZabbixInflater().inflate(ByteBuffer(bytes: zlibCompress(self.json)), expectedSize: expected)
        }
    }

    @Test func refusesAnnouncedSizeAboveMaximumBeforeAllocating() {
        #expect(throws: ZabbixInflateError.tooLarge(announced: .max, maximum: 1000)) {
            try ZabbixInflater(maximumSize: 1000).inflate(ByteBuffer(bytes: [0x78, 0x9c]), expectedSize: .max)
        }
        #expect(throws: ZabbixInflateError.tooLarge(announced: 1001, maximum: 1000)) {
            try ZabbixInflater(maximumSize: 1000).inflate(ByteBuffer(bytes: [0x78, 0x9c]), expectedSize: 1001)
        }
    }

    @Test func corruptOrTruncatedStreamsAreCorruptData() {
        let good = zlibCompress(self.json)
        var flipped = good
        flipped[good.count / 2] ^= 0xFF
        let cases: [[UInt8]] = [
            [], [0x78], Array("not zlib at all".utf8), Array(good.prefix(good.count - 3)), flipped, self.json,
        ]
        for bytes in cases {
            #expect(throws: ZabbixInflateError.self) {
                try ZabbixInflater().inflate(ByteBuffer(bytes: bytes), expectedSize: UInt64(self.json.count))
            }
        }
        #expect(throws: ZabbixInflateError.corruptData) {
            try ZabbixInflater().inflate(ByteBuffer(bytes: Array("not zlib at all".utf8)), expectedSize: 100)
        }
    }

    @Test func randomBytesNeverCrash() {
        var rng = SeededGenerator(seed: 7)
        for _ in 0..<2000 {
            var bytes = (0..<Int.random(in: 0...200, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            if Bool.random(using: &rng), bytes.count > 2 {
                bytes[0] = 0x78
                bytes[1] = 0x9c
            }
            _ = try? ZabbixInflater(maximumSize: 4096).inflate(
                ByteBuffer(bytes: bytes),
                expectedSize: .random(in: 0...5000, using: &rng)
            )
        }
    }

    /// The output follows what zlib produces, not what `reserved` claims.
    static func inflated(_ compressed: [UInt8], ceiling: Int) -> Result<ByteBuffer, ZabbixInflateError> {
        compressed.withUnsafeBytes { ZabbixInflater.inflate($0, ceiling: ceiling) }
    }

    @Test func anHonestlySmallStreamUnderAHugeClaimCostsWhatItInflatesTo() throws {
        let output = try Self.inflated(zlibCompress(self.json), ceiling: (64 << 20) + 1).get()
        #expect(output.readableBytes == self.json.count)
        #expect(output.capacity <= ZabbixInflater.initialCapacity)
        #expect(throws: ZabbixInflateError.sizeMismatch(expected: 64 << 20, actual: self.json.count)) {
            try ZabbixInflater().inflate(ByteBuffer(bytes: zlibCompress(self.json)), expectedSize: 64 << 20)
        }
    }

    @Test func aBombWithALyingReservedStopsOneBytePastIt() throws {
        // 64 MiB of zeros, about 64 KB compressed, claiming 1000 bytes.
        let bomb = zlibCompress([UInt8](repeating: 0, count: 64 << 20))
        let output = try Self.inflated(bomb, ceiling: 1001).get()
        #expect(output.readableBytes == 1001)
        #expect(output.capacity < 64 << 10)
        #expect(throws: ZabbixInflateError.sizeMismatch(expected: 1000, actual: nil)) {
            try ZabbixInflater().inflate(ByteBuffer(bytes: bomb), expectedSize: 1000)
        }
    }

    @Test func aLargeHonestStreamGrowsItsBufferAsItInflates() throws {
        let bytes = (0..<(3 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 2_654_435_761 >> 13) }
        let out = try ZabbixInflater().inflate(
            ByteBuffer(bytes: zlibCompress(bytes)),
            expectedSize: UInt64(bytes.count)
        )
        #expect(out.readableBytesView.elementsEqual(bytes))
    }
}
