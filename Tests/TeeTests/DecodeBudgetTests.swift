import Foundation
import Logging
import NIOCore
import Relay
@testable import Tee
import Testing
import TestSupport
import ZabbixProtocol

/// Issue 14: what one payload, one connection and all frames still arriving may cost the side
/// pipeline is bounded by configuration; what is refused is counted and relaying goes on.
@Suite(.timeLimit(.minutes(1)))
struct DecodeBudgetTests {
    typealias Harness = SidePipelineTests.Harness

    static func senderData(rows: Int, value: String = "1") -> [UInt8] {
        let row = #"{"host":"h","key":"k","value":"\#(value)"}"#
        return ZabbixFrames.plain(#"{"request":"sender data","data":["# + Array(repeating: row, count: rows).joined(separator: ",") + "]}")
    }

    @Test func aPayloadThatWouldKeepMoreThanItsBudgetIsCountedAndDecodingGoesOn() async throws {
        // What one payload keeps is max(decode.max_frame_size, 64 MiB): about 90 000 rows (each
        // costs its row, item value and decoded value), not 100 000.
        var harness = Harness { $0.maximumFrameSize = 4 << 20 }
        try harness.connection([(.clientToServer, Self.senderData(rows: 100_000))])
        try harness.connection([(.clientToServer, Self.senderData(rows: 3))])
        let values = await harness.values(count: 3)
        await harness.pipeline.shutdown()
        #expect(values.count == 3)
        #expect(harness.pipeline.statistics.failures(.budgetExceeded) == 1)
        #expect(harness.pipeline.statistics.failures(.invalidJSON) == 0)
    }

    @Test func rowsNotKeptAreCountedByReason() async throws {
        var harness = Harness()
        let rows = [
            #"{"":0}"#, "[]", #"{"host":"h","clock":1}"#,
            #"{"host":"\#(String(repeating: "h", count: 129))","key":"k","value":"1"}"#,
            #"{"host":"h","key":"\#(String(repeating: "k", count: 2049))","value":"1"}"#,
            #"{"host":"h","key":"k","value":"kept"}"#,
        ]
        try harness.connection([(.clientToServer, ZabbixFrames.plain(#"{"request":"sender data","data":["# + rows.joined(separator: ",") + "]}"))])
        let values = await harness.values(count: 1)
        await harness.pipeline.shutdown()
        #expect(values.map(\.value.value) == ["kept"])
        #expect(harness.pipeline.statistics.droppedRows == DroppedRows(unusable: 3, hostTooLong: 1, keyTooLong: 1))
    }

    @Test func aConnectionSendingMoreThanItsShareHasTheRestDroppedAndCounted() async throws {
        // Frames of ~900 decoded bytes against a 1 KiB frame limit: a connection may decode two
        // at once, then one per second.
        var harness = Harness { $0.maximumFrameSize = 1024 }
        let frame = Self.senderData(rows: 23)
        #expect(frame.count > 800 && frame.count < 1024)
        try harness.connection([(.clientToServer, Array([[UInt8]](repeating: frame, count: 10).joined()))])
        try harness.connection([(.clientToServer, frame)])
        _ = await harness.values(count: 69)
        await harness.pipeline.shutdown()
        let dropped = harness.pipeline.statistics.failures(.connectionShare)
        #expect(dropped >= 1 && dropped <= 8, "\(dropped)")
        #expect(harness.pipeline.statistics.itemValueCount == (11 - dropped) * 23, "the other connection has its own share")
    }

    @Test func framesStillArrivingShareTheQueuesBytesAcrossConnections() async throws {
        // decode.queue_bytes 96 KiB: one connection's 64 KiB frame in pieces fits, a second
        // connection's frame arriving at the same time does not and is passed over.
        var harness = Harness {
            $0.queueBytes = 96 << 10
            $0.maximumFrameSize = 1 << 20
        }
        let big = Self.senderData(rows: 1500)
        #expect(big.count > 40 << 10 && big.count < 64 << 10)
        let taps = try (1...2).map { id in
            try #require(harness.factory.makeTap(for: RelayConnectionInfo(
                id: UInt64(id), listener: "agents", client: nil, local: nil, target: Endpoint(host: "127.0.0.1", port: 10051))))
        }
        let half = big.count / 2
        try big[..<half].withUnsafeBytes { try taps[0].observe($0, direction: .clientToServer) }
        #expect(harness.pipeline.frameBytes.bytesInUse >= half)
        try big[..<half].withUnsafeBytes { try taps[1].observe($0, direction: .clientToServer) }
        try big[half...].withUnsafeBytes { try taps[1].observe($0, direction: .clientToServer) }
        try big[half...].withUnsafeBytes { try taps[0].observe($0, direction: .clientToServer) }
        for tap in taps { tap.connectionClosed() }
        let values = await harness.values(count: 1500)
        await harness.pipeline.shutdown()
        #expect(values.count == 1500, "the first connection's frame was decoded")
        #expect(harness.pipeline.statistics.failures(.queueFull) == 1)
        #expect(harness.pipeline.frameBytes.bytesInUse == 0, "closed connections give their bytes back")
    }

    // MARK: The share's state machine

    @Test func theShareAllowsTwoLargestFramesAtOnceThenOnePerSecond() {
        let start = NIODeadline.uptimeNanoseconds(1_000_000_000)
        var share = ConnectionDecodeShare(maximumFrameSize: 1000, now: start)
        let admitted = [
            share.admit(1000, now: start),
            share.admit(1000, now: start),
            share.admit(1, now: start),
            share.admit(1000, now: start + .milliseconds(999)),
            share.admit(1000, now: start + .milliseconds(1000)),
            // A long quiet time refills to the burst, never beyond.
            share.admit(2000, now: start + .seconds(1_000_000)),
            share.admit(1, now: start + .seconds(1_000_000)),
            // Time going backwards earns nothing and traps nothing.
            share.admit(1, now: start),
        ]
        #expect(admitted == [true, true, false, false, true, true, false, false])
    }

    @Test func theShareOfAHugeFrameLimitNeverOverflows() {
        var share = ConnectionDecodeShare(maximumFrameSize: .max, now: .uptimeNanoseconds(0))
        let admitted = [share.admit(.max, now: .uptimeNanoseconds(0)), share.admit(.max / 2, now: .uptimeNanoseconds(.max))]
        #expect(admitted == [true, true])
    }
}
