import NIOCore
import TestSupport
import Testing
import ZabbixProtocol

@Suite struct ZabbixFrameDecoderTests {
    // MARK: Captured headers (docs/zabbix-protocol.md 1.1)

    @Test func decodesCapturedAgentdPassiveRequest() {
        let bytes = hex("5a425844 01 0a000000 00000000") + Array("agent.ping".utf8)
        let events = decodeAll([bytes])
        #expect(
            events == [
                .frame(
                    ZabbixFrame(
                        header: ZabbixFrameHeader(flags: .zabbixProtocol, dataLength: 10, reserved: 0),
                        payload: ByteBuffer(string: "agent.ping")
                    )
                )
            ]
        )
    }

    @Test func keepsAgent2ReservedFieldOnUncompressedFrames() {
        let bytes = hex("5a425844 01 01000000 01000000 31")
        let events = decodeAll([bytes])
        guard case .frame(let frame) = events.first else {
            Issue.record("no frame: \(events)")
            return
        }
        #expect(frame.header.reserved == 1)
        #expect(!frame.header.isCompressed)
        #expect(frame.header.decodedLength == 1)
        #expect(frame.payload.bytes == [0x31])
    }

    @Test func decodesCompressedFrameHeaderWithInflatedSizeInReserved() {
        let json =
            #"{"request":"active checks","host":"tee-test-agent2","version":"6.0","ip":"127.0.0.1","port":31060}"#
        let events = decodeAll([compressedFrame(json)])
        guard case .frame(let frame) = events.first, events.count == 1 else {
            Issue.record("unexpected \(events)")
            return
        }
        #expect(frame.header.flags == [.zabbixProtocol, .compressed])
        #expect(frame.header.reserved == UInt64(json.utf8.count))
        #expect(frame.payload.bytes.prefix(2) == [0x78, 0x9c])
    }

    @Test func decodesPre40HeaderWithOneEightByteLengthAsReservedZero() {
        let bytes = hex("5a425844 01 0a00000000000000") + Array("agent.ping".utf8)
        let events = decodeAll([bytes])
        #expect(
            events == [
                .frame(
                    ZabbixFrame(
                        header: ZabbixFrameHeader(flags: .zabbixProtocol, dataLength: 10, reserved: 0),
                        payload: ByteBuffer(string: "agent.ping")
                    )
                )
            ]
        )
    }

    @Test func decodesLargeFlagWithEightByteLengths() {
        let payload = Array(#"{"hosts":{}}"#.utf8)
        let header = ZabbixFrameHeader(
            flags: [.zabbixProtocol, .large],
            dataLength: UInt64(payload.count),
            reserved: 0
        )
        #expect(header.encoded().count == 21)
        let events = decodeAll([header.encoded() + payload])
        #expect(events == [.frame(ZabbixFrame(header: header, payload: ByteBuffer(bytes: payload)))])
    }

    @Test func decodesEmptyPayload() {
        let events = decodeAll([plainFrame([]) + plainFrame("x")])
        #expect(events.count == 2)
        if case .frame(let frame) = events.first { #expect(frame.payload.readableBytes == 0) }
    }

    // MARK: Splitting

    @Test func sameEventsWhetherFedWholeByteByByteOrSplitAnywhere() {
        let stream =
            plainFrame("agent.ping")
            + hex("5a425844 01 0a00000000000000") + Array("agent.ping".utf8)  // pre-4.0 header
            + hex("5a425844 01 01000000 01000000 31")  // agent 2 passive reply
            + compressedFrame(#"{"request":"agent data","data":[{"id":1,"itemid":1003,"value":"1"}]}"#)
            + plainFrame([]) + plainFrame(Array("1".utf8), reserved: 1)
            + compressedFrame(Array(#"{"hosts":{}}"#.utf8), large: true)
        let expected = decodeAll([stream])
        #expect(expected.count == 7)
        for chunks in splits(of: stream) {
            #expect(decodeAll(chunks) == expected)
        }
    }

    @Test func sameEventsForSkippedFramesAndErrorsWhateverTheSplit() {
        let stream = plainFrame(Array(repeating: 0x41, count: 40)) + plainFrame("small") + Array("junk".utf8)
        let expected = decodeAll([stream], maximumFrameSize: 16)
        #expect(expected.count == 3)
        for chunks in splits(of: stream) {
            #expect(decodeAll(chunks, maximumFrameSize: 16) == expected)
        }
    }

    @Test func payloadWithinOneBufferIsASliceOfIt() {
        let input = ByteBuffer(bytes: plainFrame("agent.ping"))
        var decoder = ZabbixFrameDecoder()
        let events = decoder.feed(input)
        guard case .frame(let frame) = events.first else {
            Issue.record("no frame")
            return
        }
        let inputBase = input.withUnsafeReadableBytes { UInt(bitPattern: $0.baseAddress) }
        let payloadBase = frame.payload.withUnsafeReadableBytes { UInt(bitPattern: $0.baseAddress) }
        #expect(payloadBase == inputBase + 13)
    }

    @Test func frameSpanningBuffersIsAccumulatedAndCountedAsBuffered() {
        let frame = plainFrame(Array(repeating: 0x42, count: 100))
        var decoder = ZabbixFrameDecoder(maximumFrameSize: 100)
        #expect(decoder.feed(ByteBuffer(bytes: Array(frame[..<60]))) == [])
        #expect(decoder.bufferedByteCount == 47)
        #expect(!decoder.isAtFrameBoundary)
        let events = decoder.feed(ByteBuffer(bytes: Array(frame[60...])))
        #expect(
            events == [
                .frame(
                    ZabbixFrame(
                        header: ZabbixFrameHeader(flags: .zabbixProtocol, dataLength: 100, reserved: 0),
                        payload: ByteBuffer(bytes: Array(repeating: 0x42, count: 100))
                    )
                )
            ]
        )
        #expect(decoder.bufferedByteCount == 0)
        #expect(decoder.isAtFrameBoundary)
    }

    // MARK: Oversized frames

    @Test func skipsOversizedFrameWithoutBufferingAndResumesAtNextFrame() {
        var decoder = ZabbixFrameDecoder(maximumFrameSize: 100)
        let big = plainFrame(Array(repeating: 0x41, count: 1000))
        var events: [ZabbixFrameEvent] = []
        for byte in big + plainFrame("after") {
            decoder.feed(ByteBuffer(bytes: [byte])) { events.append($0) }
            #expect(decoder.bufferedByteCount <= ZabbixFrameHeader.largeLength + 100)
        }
        #expect(
            events == [
                .skipped(ZabbixFrameHeader(flags: .zabbixProtocol, dataLength: 1000, reserved: 0)),
                .frame(
                    ZabbixFrame(
                        header: ZabbixFrameHeader(flags: .zabbixProtocol, dataLength: 5, reserved: 0),
                        payload: ByteBuffer(string: "after")
                    )
                ),
            ]
        )
    }

    @Test func skipsCompressedFrameWhoseInflatedSizeExceedsTheLimit() {
        let payload = Array(repeating: UInt8(ascii: "a"), count: 5000)
        let frame = compressedFrame(payload)
        #expect(frame.count < 200)
        let events = decodeAll([frame + plainFrame("x")], maximumFrameSize: 1000)
        #expect(events.count == 2)
        if case .skipped(let header) = events.first {
            #expect(header.reserved == 5000)
        } else {
            Issue.record("\(events)")
        }
    }

    @Test func ignoresReservedOfUncompressedFramesForTheLimit() {
        let events = decodeAll([plainFrame(Array("1".utf8), reserved: UInt64.max)], maximumFrameSize: 10)
        guard case .frame = events.first else {
            Issue.record("\(events)")
            return
        }
    }

    @Test func lengthsUpToUInt64MaxNeverTrap() {
        for flags: ZabbixFrameFlags in [[.zabbixProtocol, .large], [.zabbixProtocol, .large, .compressed]] {
            for (length, reserved) in [(UInt64.max, UInt64.max), (UInt64.max, 0), (0, UInt64.max), (1 << 63, 1 << 63)] {
                let header = ZabbixFrameHeader(flags: flags, dataLength: length, reserved: reserved)
                var decoder = ZabbixFrameDecoder(maximumFrameSize: Int.max)
                var events = decoder.feed(ByteBuffer(bytes: header.encoded() + [1, 2, 3]))
                if let last = decoder.finish() { events.append(last) }
                #expect(decoder.bufferedByteCount == 0)
                if length == 0 && !flags.contains(.compressed) {
                    continue
                }
                #expect(events.count >= 1)
            }
        }
        let header = ZabbixFrameHeader(flags: [.zabbixProtocol, .large], dataLength: .max, reserved: .max)
        let events = decodeAll([header.encoded(), [1, 2, 3]], maximumFrameSize: 1 << 30)
        #expect(events == [.skipped(header), .notZabbix(.truncated(header: header, missingBytes: .max - 3))])
    }

    @Test func maximumFrameSizeOfIntMaxStillBoundsByAnnouncedLength() {
        // A 4 GiB-ish announced frame is accepted but not preallocated before bytes arrive beyond
        // what the announced length allows; here it simply waits for more input.
        let header = ZabbixFrameHeader(flags: .zabbixProtocol, dataLength: 0xFFFF_FFFF, reserved: 0)
        var decoder = ZabbixFrameDecoder(maximumFrameSize: 16)
        let events = decoder.feed(ByteBuffer(bytes: header.encoded() + [1, 2, 3]))
        #expect(events == [.skipped(header)])
        #expect(decoder.bufferedByteCount == 0)
    }

    // MARK: Memory of frames spanning reads

    @Test func headerAnnouncingAHugeFrameReservesOnlyWhatArrived() {
        // 13 bytes announcing 60 MiB (under a 64 MiB limit), then a stall: 64 KiB, not 60 MiB.
        let length = 60 << 20
        let header = ZabbixFrameHeader(flags: .zabbixProtocol, dataLength: UInt64(length), reserved: 0)
        var decoder = ZabbixFrameDecoder(maximumFrameSize: 64 << 20)
        #expect(decoder.feed(ByteBuffer(bytes: header.encoded() + [1])) == [])
        #expect(decoder.bufferedByteCount == 1)
        #expect(decoder.bufferedCapacity <= ZabbixFrameDecoder.initialPayloadCapacity)
    }

    @Test func spanningFrameBufferGrowsWithTheBytesThatArrive() {
        let length = 3 << 20 + 123
        let payload = (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        let header = ZabbixFrameHeader(flags: .zabbixProtocol, dataLength: UInt64(length), reserved: 0)
        var decoder = ZabbixFrameDecoder(maximumFrameSize: 64 << 20)
        var events = decoder.feed(ByteBuffer(bytes: header.encoded()))
        var offset = 0
        var largestRatio = 0.0
        while offset < length {
            let chunk = min(65_536, length - offset)
            events += decoder.feed(ByteBuffer(bytes: payload[offset..<(offset + chunk)]))
            offset += chunk
            if decoder.bufferedByteCount > 0 {
                // Geometric growth: never more than twice what has arrived (or the initial 64 KiB).
                #expect(
                    decoder.bufferedCapacity
                        <= max(2 * decoder.bufferedByteCount, ZabbixFrameDecoder.initialPayloadCapacity)
                )
                largestRatio = max(largestRatio, Double(decoder.bufferedCapacity) / Double(decoder.bufferedByteCount))
            }
        }
        #expect(events == [.frame(ZabbixFrame(header: header, payload: ByteBuffer(bytes: payload)))])
        #expect(decoder.bufferedCapacity == 0)
        #expect(largestRatio <= 2)
    }

    @Test func thousandStalledHeadersCostMegabytesNotGigabytes() {
        // A peer opening many connections that each announce a frame near the limit and stall.
        let header = ZabbixFrameHeader(flags: .zabbixProtocol, dataLength: 64 << 20, reserved: 0)
        var decoders = (0..<1000).map { _ in ZabbixFrameDecoder(maximumFrameSize: 64 << 20) }
        for index in decoders.indices { _ = decoders[index].feed(ByteBuffer(bytes: header.encoded() + [0])) }
        let reserved = decoders.reduce(0) { $0 + $1.bufferedCapacity }
        #expect(
            reserved <= 1000 * ZabbixFrameDecoder.initialPayloadCapacity,
            "64 MiB in all, where 64 GiB were reserved before"
        )
    }

    // MARK: TLS and non-Zabbix streams

    @Test func firstByte0x16IsTLSAndEverythingAfterIsIgnored() {
        let hello = hex("16 03 03 00 86 01")
        #expect(decodeAll([hello + plainFrame("agent.ping")]) == [.tls])
        #expect(decodeAll([hello, plainFrame("agent.ping")]) == [.tls])
    }

    @Test func byte0x16AfterTheFirstFrameIsNotTLS() {
        let events = decodeAll([plainFrame("x") + hex("16 03 03")])
        #expect(events.count == 2)
        #expect(events.last == .notZabbix(.wrongMagic(prefix: [0x16])))
    }

    @Test func legacyHeaderlessPayloadIsNotZabbixAndStopsDecoding() {
        var decoder = ZabbixFrameDecoder()
        #expect(decoder.feed(ByteBuffer(string: "agent.ping\n")) == [.notZabbix(.wrongMagic(prefix: Array("a".utf8)))])
        #expect(decoder.isStopped)
        #expect(decoder.feed(ByteBuffer(bytes: plainFrame("x"))) == [])
        #expect(decoder.finish() == nil)
    }

    @Test func wrongMagicIsReportedWithTheBytesSeen() {
        #expect(decodeAll([Array("ZBXE".utf8)]) == [.notZabbix(.wrongMagic(prefix: Array("ZBXE".utf8)))])
        #expect(
            decodeAll([Array("ZBX".utf8), Array("d".utf8)]) == [.notZabbix(.wrongMagic(prefix: Array("ZBXd".utf8)))]
        )
    }

    @Test func flagsWithoutProtocolBitAreNotZabbix() {
        for flags: UInt8 in [0x00, 0x02, 0x04, 0x06] {
            #expect(
                decodeAll([hex("5a425844") + [flags] + hex("01000000 00000000 31")])
                    == [.notZabbix(.missingProtocolFlag(ZabbixFrameFlags(rawValue: flags)))]
            )
        }
    }

    @Test func unknownFlagBitsAreNotZabbix() {
        for flags: UInt8 in [0x08, 0x09, 0x11, 0x81, 0xFF] {
            #expect(
                decodeAll([hex("5a425844") + [flags] + hex("01000000 00000000 31")])
                    == [.notZabbix(.unknownFlags(ZabbixFrameFlags(rawValue: flags)))]
            )
        }
    }

    @Test func streamEndingInsideAFrameIsTruncated() {
        let frame = plainFrame("agent.ping")
        #expect(decodeAll([Array(frame.prefix(3))]) == [.notZabbix(.truncated(header: nil, missingBytes: 10))])
        #expect(decodeAll([Array(frame.prefix(7))]) == [.notZabbix(.truncated(header: nil, missingBytes: 6))])
        let header = ZabbixFrameHeader(flags: .zabbixProtocol, dataLength: 10, reserved: 0)
        #expect(decodeAll([Array(frame.prefix(15))]) == [.notZabbix(.truncated(header: header, missingBytes: 8))])
        #expect(decodeAll([Array(frame.prefix(13))]) == [.notZabbix(.truncated(header: header, missingBytes: 10))])
    }

    @Test func emptyStreamEndsCleanly() {
        #expect(decodeAll([]) == [])
        #expect(decodeAll([[], []]) == [])
    }

    // MARK: Robustness

    @Test func tenMegabytesOfRandomBytesNeverCrashOrGrowMemory() {
        var rng = SeededGenerator(seed: 0x5A42_5844)
        var decoder = ZabbixFrameDecoder(maximumFrameSize: 4096)
        var remaining = 10 << 20
        // Starts with a valid magic so that the random bytes reach the header and payload logic.
        decoder.feed(ByteBuffer(string: "ZBXD")) { _ in }
        while remaining > 0 {
            let count = min(remaining, Int.random(in: 1...65536, using: &rng))
            var chunk = [UInt8](repeating: 0, count: count)
            for index in chunk.indices { chunk[index] = UInt8.random(in: 0...255, using: &rng) }
            decoder.feed(ByteBuffer(bytes: chunk)) { _ in }
            #expect(decoder.bufferedByteCount <= ZabbixFrameHeader.largeLength + 4096)
            remaining -= count
        }
        _ = decoder.finish()
    }

    @Test func randomFramesWithRandomHeadersStayWithinTheMemoryBound() {
        var rng = SeededGenerator(seed: 42)
        let limit = 512
        for _ in 0..<2000 {
            var stream: [UInt8] = []
            for _ in 0..<Int.random(in: 1...4, using: &rng) {
                let flags = [UInt8](arrayLiteral: 0x01, 0x03, 0x05, 0x07, 0x00, 0x09).randomElement(using: &rng)!
                let length = UInt64.random(in: 0...1024, using: &rng)
                stream += ZabbixFrameHeader(
                    flags: ZabbixFrameFlags(rawValue: flags),
                    dataLength: length,
                    reserved: .random(in: 0...UInt64.max, using: &rng)
                ).encoded()
                stream += (0..<Int.random(in: 0...1100, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng)
                }
            }
            var decoder = ZabbixFrameDecoder(maximumFrameSize: limit)
            var index = 0
            while index < stream.count {
                let end = min(stream.count, index + Int.random(in: 1...300, using: &rng))
                decoder.feed(ByteBuffer(bytes: Array(stream[index..<end]))) { event in
                    if case .frame(let frame) = event { #expect(frame.payload.readableBytes <= limit) }
                }
                #expect(decoder.bufferedByteCount <= ZabbixFrameHeader.largeLength + limit)
                index = end
            }
            _ = decoder.finish()
        }
    }

    // MARK: Frames that arrived whole, handed over uncopied

    @Test func aFrameThatArrivedWholeIsHandedToWholeAsAViewAndOneSpanningReadsToOtherInStreamOrder() {
        let first = plainFrame("one")
        let second = plainFrame("two, spanning")
        let third = plainFrame("three")
        // The first whole, the second split across the two reads, the third whole in the second.
        let reads = [first + second.prefix(20), Array(second.dropFirst(20)) + third]
        var decoder = ZabbixFrameDecoder()
        var seen: [String] = []
        var capacities: [Int] = []
        for read in reads {
            read.withUnsafeBytes { bytes in
                decoder.feed(
                    bytes,
                    whole: { header, payload in
                        #expect(header.dataLength == UInt64(payload.count))
                        seen.append("whole \(String(decoding: payload, as: UTF8.self))")
                    },
                    other: { event in
                        guard case .frame(let frame) = event else { return seen.append("other \(event)") }
                        seen.append("frame \(String(buffer: frame.payload))")
                    }
                )
            }
            capacities.append(decoder.bufferedCapacity)
        }
        #expect(seen == ["whole one", "frame two, spanning", "whole three"])
        #expect(capacities[0] >= second.count - 13, "the spanning frame's buffer, while it arrives")
        #expect(capacities[1] == 0, "none once it is complete")
    }
}
