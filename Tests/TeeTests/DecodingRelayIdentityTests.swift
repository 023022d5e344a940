import Foundation
import Logging
import NIOCore
import NIOPosix
import Relay
import Tee
import TestSupport
import Testing
import ZabbixProtocol

/// Acceptance: whatever arrives — truncated frames, wrong magic, unknown flags, absurd lengths,
/// lying sizes, corrupt zlib, invalid JSON or UTF-8, 100 MB of random bytes — is relayed
/// byte-identical through a relay that decodes, each problem is counted by reason, and the
/// decoder's memory stays within its configured bounds.
@Suite(.tags(.integration), .tier(.integration), .serialized, .timeLimit(.minutes(3)))
struct DecodingRelayIdentityTests {
    final class NullSink: ItemValueSink {
        func consume(_ values: [DecodedValue]) {}
    }

    /// Sends `payload` through a decoding relay to a target that checksums what it receives.
    static func relay(_ payloads: [[UInt8]], pipeline: SidePipeline) async throws -> [StreamChecksum] {
        let target = try BlockingListener()
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let listener = RelayListener(
            configuration: RelayListenerConfiguration(
                name: "hostile",
                listen: [Endpoint(host: "127.0.0.1", port: 0)],
                targets: [Endpoint(host: "127.0.0.1", port: target.port)]
            ),
            tapFactory: pipeline.tapFactory,
            logger: logger
        )
        try await listener.start()
        let port = listener.localAddresses[0].port!
        let received = TestThreads.start { () throws -> [StreamChecksum] in
            try (0..<payloads.count).map { _ in
                let socket = try target.accept()
                defer { socket.close() }
                return try StreamChecksum.receive(from: socket)
            }
        }
        for payload in payloads {
            try await TestThreads.start {
                let socket = try BlockingSocket.connect(port: port)
                try socket.send(payload)
                socket.shutdownWrite()
                _ = try socket.receiveAll()
            }.value
        }
        let checksums = try await received.value
        await listener.stopAccepting()
        _ = await listener.waitForConnectionsToClose(timeout: .seconds(10))
        target.close()
        return checksums
    }

    static func checksum(_ bytes: [UInt8]) -> StreamChecksum {
        var checksum = StreamChecksum()
        bytes.withUnsafeBytes { checksum.update($0) }
        return checksum
    }

    @Test func hostileInputIsRelayedByteIdenticalAndCountedByReason() async throws {
        var configuration = DecodeConfiguration()
        configuration.maximumFrameSize = 1 << 20
        let pipeline = SidePipeline(configuration: configuration, sink: NullSink(), logger: Logger(label: "test"))
        pipeline.start()
        let good = ZabbixFrames.plain(#"{"request":"sender data","data":[{"host":"h","key":"k","value":"1"}]}"#)
        var largeHeader = Array("ZBXD".utf8) + [0x05]  // large-packet flag: 8-byte lengths
        largeHeader += [UInt8](repeating: 0xff, count: 8) + [UInt8](repeating: 0, count: 8)
        var lyingReserved = ZabbixFrames.compressed(#"{"request":"sender data","data":[]}"#)
        lyingReserved[9] = 0x7f
        let payloads: [(String, [UInt8])] = [
            ("truncated frame", Array(good.prefix(good.count - 5))),
            ("wrong magic", Array("ZBXE".utf8) + good.dropFirst(4)),
            ("unknown flag bits", [UInt8](good.prefix(4)) + [0x81] + good.dropFirst(5)),
            ("length 2^64-1", largeHeader + PayloadPattern.shared.bytes(seed: 1, length: 4096)),
            ("reserved that lies", lyingReserved),
            (
                "corrupt zlib",
                ZabbixFrames.frame(
                    flags: 3,
                    payload: [0x78, 0x9c] + PayloadPattern.shared.bytes(seed: 2, length: 100),
                    reserved: 1000
                )
            ),
            ("invalid JSON", ZabbixFrames.plain(#"{"request":"sender data","data":[{"host":"h""#)),
            (
                "invalid UTF-8",
                ZabbixFrames.frame(
                    flags: 1,
                    payload: Array(#"{"request":"sender data","data":[{"host":""#.utf8) + [0xc3, 0x28]
                        + Array(#""}]}"#.utf8),
                    reserved: 0
                )
            ),
            (
                "oversized frame",
                ZabbixFrames.plain(
                    #"{"request":"sender data","data":[{"host":"h","key":"k","value":""#
                        + String(repeating: "x", count: 2 << 20) + #""}]}"#
                ) + good
            ),
            ("100 MB of random bytes", PayloadPattern.shared.bytes(seed: 3, length: 100 << 20)),
            (
                "ZBXD header then 100 MB of random bytes",
                Array(ZabbixFrames.frame(flags: 1, payload: [], reserved: 0).prefix(5)) + [0, 0, 0, 0x10, 0, 0, 0, 0]
                    + PayloadPattern.shared.bytes(seed: 4, length: 100 << 20)
            ),
        ]
        let received = try await Self.relay(payloads.map(\.1), pipeline: pipeline)
        for ((name, sent), got) in zip(payloads, received) {
            #expect(got == Self.checksum(sent), "\(name): relayed bytes differ")
        }
        // The decoder never held more than its bounds while this went through.
        #expect(pipeline.statistics.queueBytes <= configuration.queueBytes)
        await pipeline.shutdown()
        let failures = pipeline.statistics.failures
        #expect(failures[.notZabbix]! >= 3, "\(failures)")  // wrong magic, flags, random
        // The truncated frame; streams ending inside a skipped frame.
        #expect(failures[.truncated]! >= 2, "\(failures)")
        #expect(failures[.oversized]! >= 3, "\(failures)")  // 2^64-1, the oversized frame, the 256 MiB header
        #expect(failures[.corruptCompression] == 2, "\(failures)")
        #expect(failures[.invalidJSON] == 2, "\(failures)")
        let decoded = pipeline.statistics.summary[.init(request: "sender data", version: "-")]?.decoded
        #expect(decoded == 1, "the good frame after the oversized one was decoded")
        // ... and, as the target never answers, not emitted: counted as unanswered.
        #expect(pipeline.statistics.itemValueCount == 0)
        #expect(pipeline.statistics.rejectedValues[.noReply] == 1)
    }
}
