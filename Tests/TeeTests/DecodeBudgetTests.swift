import Foundation
import Logging
import NIOCore
import Relay
import TestSupport
import Testing
import ZabbixProtocol

@testable import Tee

/// Issue 14: what one payload, one connection and all frames still arriving may cost the side
/// pipeline is bounded by configuration; what is refused is counted and relaying goes on.
@Suite(.timeLimit(.minutes(1)))
struct DecodeBudgetTests {
    typealias Harness = SidePipelineTests.Harness

    /// The server's reply that stores every value of a request (values are emitted on it).
    static let stored = ZabbixFrames.plain(#"{"response":"success"}"#)

    static func senderData(rows: Int, value: String = "1") -> [UInt8] {
        let row = #"{"host":"h","key":"k","value":"\#(value)"}"#
        return ZabbixFrames.plain(
            #"{"request":"sender data","data":["# + Array(repeating: row, count: rows).joined(separator: ",") + "]}"
        )
    }

    @Test func aPayloadThatWouldKeepMoreThanItsBudgetIsCountedAndDecodingGoesOn() async throws {
        // What one payload keeps is max(decode.max_frame_size, 64 MiB): about 90 000 rows (each
        // costs its row, item value and decoded value), not 100 000.
        var harness = Harness { $0.maximumFrameSize = 4 << 20 }
        try harness.connection([(.clientToServer, Self.senderData(rows: 100_000)), (.serverToClient, Self.stored)])
        try harness.connection([(.clientToServer, Self.senderData(rows: 3)), (.serverToClient, Self.stored)])
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
        try harness.connection([
            (
                .clientToServer,
                ZabbixFrames.plain(#"{"request":"sender data","data":["# + rows.joined(separator: ",") + "]}")
            ),
            (.serverToClient, Self.stored),
        ])
        let values = await harness.values(count: 1)
        await harness.pipeline.shutdown()
        #expect(values.map(\.value.value) == ["kept"])
        #expect(harness.pipeline.statistics.droppedRows == DroppedRows(unusable: 3, hostTooLong: 1, keyTooLong: 1))
    }

    @Test func aConnectionSendingMoreThanItsShareHasTheRestDroppedAndCounted() async throws {
        // Frames of ~900 decoded bytes against a 1 KiB frame limit: a connection may decode two
        // at once, then one per second. Each request is answered (its values are emitted on the
        // reply); replies are frames of the connection too and take from its share.
        var harness = Harness { $0.maximumFrameSize = 1024 }
        let frame = Self.senderData(rows: 23)
        #expect(frame.count > 800 && frame.count < 1024)
        try harness.connection(
            Array(repeating: [(.clientToServer, frame), (.serverToClient, Self.stored)], count: 10).flatMap { $0 }
        )
        try harness.connection([(.clientToServer, frame), (.serverToClient, Self.stored)])
        _ = await harness.values(count: 69)
        await harness.pipeline.shutdown()
        let dropped = harness.pipeline.statistics.failures(.connectionShare)
        let emitted = harness.sink.values.reduce(into: [UInt64: Int]()) { $0[$1.connection, default: 0] += 1 }
        #expect(emitted[2] == 23, "the other connection has its own share")
        // An exchange is lost when its request or its reply was dropped: never emitted in part.
        let first = emitted[1, default: 0]
        #expect(first % 23 == 0)
        let lost = 10 - first / 23
        #expect(
            lost >= 1 && lost <= dropped && dropped <= 2 * lost,
            "lost \(lost) exchanges, dropped \(dropped) frames"
        )
        #expect(lost <= 8, "the first two exchanges fit the burst")
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
            try #require(
                harness.factory.makeTap(
                    for: RelayConnectionInfo(
                        id: UInt64(id),
                        listener: "agents",
                        client: nil,
                        local: nil,
                        target: Endpoint(host: "127.0.0.1", port: 10051)
                    )
                )
            )
        }
        let half = big.count / 2
        try big[..<half].withUnsafeBytes { try taps[0].observe($0, direction: .clientToServer) }
        #expect(harness.pipeline.frameBytes.bytesInUse >= half)
        try big[..<half].withUnsafeBytes { try taps[1].observe($0, direction: .clientToServer) }
        try big[half...].withUnsafeBytes { try taps[1].observe($0, direction: .clientToServer) }
        try big[half...].withUnsafeBytes { try taps[0].observe($0, direction: .clientToServer) }
        for tap in taps { tap.connectionClosed() }
        // The frame's 1500 values would not fit the same 96 KiB while waiting for a reply (no
        // reply is sent): what is pinned here is that one of the two frames was decoded.
        let senderData = DecodeStatistics.FrameKind(message: "sender data", flags: 1)
        #expect(
            await eventually { harness.pipeline.statistics.framesDecoded[senderData] == 1 },
            "one connection's frame was decoded"
        )
        await harness.pipeline.shutdown()
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
        let admitted = [
            share.admit(.max, now: .uptimeNanoseconds(0)), share.admit(.max / 2, now: .uptimeNanoseconds(.max)),
        ]
        #expect(admitted == [true, true])
    }
}
