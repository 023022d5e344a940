import Testing

@testable import Tee

/// The frame and summary counts read back as counted, whatever order the kinds and keys come in:
/// the row counted last is found by comparison, every other one through the index.
struct DecodeStatisticsRowsTests {
    @Test func framesOfInterleavedKindsAreEachCountedUnderTheirOwnKind() {
        let statistics = DecodeStatistics()
        let kinds = ["agent data", "response", "agent data", "sender data", "response", "response", "agent data"]
        for (index, kind) in kinds.enumerated() {
            statistics.frameDecoded(message: kind, flags: index == 3 ? 3 : 1)
        }
        #expect(
            statistics.framesDecoded == [
                .init(message: "agent data", flags: 1): 3, .init(message: "response", flags: 1): 3,
                .init(message: "sender data", flags: 3): 1,
            ]
        )
    }

    @Test func summaryRowsOfInterleavedKeysAreEachCountedUnderTheirOwnKey() {
        let statistics = DecodeStatistics()
        let keys = [("agent data", "6.0.25"), ("sender data", "-"), ("agent data", "6.0.25"), ("agent data", "7.0.9")]
        for (request, version) in keys {
            statistics.summarize(.init(request: request, version: version), count: 2) { $0.decoded += $1 }
        }
        let summary = statistics.summary
        #expect(summary.count == 3)
        #expect(summary[.init(request: "agent data", version: "6.0.25")]?.decoded == 4)
        #expect(summary[.init(request: "sender data", version: "-")]?.decoded == 2)
        #expect(summary[.init(request: "agent data", version: "7.0.9")]?.decoded == 2)
    }
}
