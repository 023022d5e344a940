import TestSupport
import Testing

@testable import ZabbixProtocol

/// The byte reading of a reply's `info` (run once per relayed upload) answers as the `Character`
/// reading does, for every ASCII text, and leaves anything else to it.
struct ServerResponseStatisticsTests {
    static func same(_ a: ServerResponse.Statistics, _ b: ServerResponse.Statistics) -> Bool {
        a.processed == b.processed && a.failed == b.failed && a.total == b.total && a.secondsSpent == b.secondsSpent
    }

    @Test(arguments: [
        "processed: 1; failed: 0; total: 1; seconds spent: 0.000050",
        "processed: 6; failed: 2; total: 8; seconds spent: 0.1",
        "processed:1;failed:0",
        "  processed  :  +7 ;; total: -0; failed: x; seconds spent:",
        "processed: 9223372036854775807; failed: -9223372036854775808; total: 9223372036854775808",
        "processed: -; failed: +; total: ; seconds spent:  ",
        "host [x] not found", "", ";", ":", "processed: 1\r\n; failed: 2", "processed: 1 2; failed: 0x1",
    ])
    func asciiInfoReadsAsTheCharacterReadingDoes(_ info: String) {
        #expect(Self.same(ServerResponse.statistics(info), ServerResponse.characterStatistics(info)))
    }

    @Test func randomAsciiInfoReadsAsTheCharacterReadingDoes() {
        var generator = SeededGenerator(seed: 16)
        let alphabet = Array("processedfailtoalsecondp :;+-0123456789 \t\r\n".utf8)
        for _ in 0..<5_000 {
            let length = Int.random(in: 0..<60, using: &generator)
            let bytes = (0..<length).map { _ in alphabet.randomElement(using: &generator)! }
            let info = String(decoding: bytes, as: UTF8.self)
            #expect(Self.same(ServerResponse.statistics(info), ServerResponse.characterStatistics(info)), "\(info)")
        }
        // Field names spelt whole, so that the values are read too.
        let names = ["processed", "failed", "total", "seconds spent"]
        for _ in 0..<2_000 {
            let parts = (0..<Int.random(in: 0..<5, using: &generator)).map { _ in
                let value = String(
                    Int64.random(in: .min ... .max, using: &generator) >> UInt64.random(in: 0..<64, using: &generator)
                )
                return
                    "\(names.randomElement(using: &generator)!):\(String(repeating: " ", count: Int.random(in: 0..<3, using: &generator)))\(value)"
            }
            let info = parts.joined(separator: "; ")
            #expect(Self.same(ServerResponse.statistics(info), ServerResponse.characterStatistics(info)), "\(info)")
        }
    }

    @Test(arguments: [
        "processed: 1; failed: 0; total: 1; seconds spent: 0.000050",
        "processed: 0; failed: 12; total: 12; seconds spent: 1.5: more",
        "processed: 999999999999999999; failed: 0; total: 1; seconds spent: x",
        "processed: 1000000000000000000; failed: 0; total: 1; seconds spent: 0.1",
        "processed: 1; failed: 0; total: 1; seconds spent:  0.1",
        "processed: 1; failed: 0; total: 1; seconds spent: 0.1 ",
        "processed: 1; failed: 0; total: 1; seconds spent: ", "processed: 1; failed: 0; total: 1; seconds spent: 1;2",
        "processed: +1; failed: 0; total: 1; seconds spent: 0.1",
        "processed: 1 ; failed: 0; total: 1; seconds spent: 0",
        "processed: 1; failed: 0; total: 1", "processed: 1; failed: 0; total: 1; seconds spent: 0.1\u{0}",
    ])
    func theTextZabbixWritesReadsAsTheCharacterReadingDoes(_ info: String) {
        let canonical = Array(info.utf8).withUnsafeBufferPointer { ServerResponse.canonicalStatistics($0) }
        if let canonical { #expect(Self.same(canonical, ServerResponse.characterStatistics(info))) }
        #expect(Self.same(ServerResponse.statistics(info), ServerResponse.characterStatistics(info)))
    }

    @Test func theTextZabbixWritesTakesTheStraightReading() {
        let info = "processed: 3; failed: 1; total: 4; seconds spent: 0.000050"
        let canonical = Array(info.utf8).withUnsafeBufferPointer { ServerResponse.canonicalStatistics($0) }
        #expect(canonical.map { Self.same($0, (3, 1, 4, "0.000050")) } == true)
    }

    @Test func nonAsciiInfoTakesTheCharacterReading() {
        let info = "processed: 1;\u{301} failed: 0; total: 1; seconds spent: 0.5 é"
        #expect(Array(info.utf8).withUnsafeBufferPointer { ServerResponse.asciiStatistics($0) == nil })
        #expect(Self.same(ServerResponse.statistics(info), ServerResponse.characterStatistics(info)))
    }
}
