import Foundation
import Relay
import TestSupport
import Testing

/// Acceptance: a receiver that stops reading makes the sender block, and the relay's own
/// buffering stays bounded while 256 MiB are pushed.
@Suite(.tags(.integration), .tier(.integration), .serialized, .timeLimit(.minutes(3))) struct RelayBackpressureTests {
    @Test func receiverThatStopsReadingBlocksTheSenderAndTheRelayBuffersAtMostOneReadBatch() async throws {
        let pattern = PayloadPattern.shared
        let total = 256 << 20
        let target = try BlockingListener()
        let accepted = TestThreads.start { try target.accept() }
        let relay = try await RelayHarness(targets: [target.port])
        let port = relay.port
        let progress = ProgressCounter()
        let client = try BlockingSocket.connect(port: port)
        let sender = TestThreads.start {
            try pattern.forEachChunk(seed: 42, length: total, chunk: 64 * 1024) { chunk in
                try client.send(chunk)
                progress.add(chunk.count)
            }
        }
        let server = try await accepted.value

        // The target reads nothing: the sender must stall once the kernel buffers are full.
        var stalledAt = -1
        for _ in 0..<200 {
            try await Task.sleep(for: .milliseconds(50))
            let now = progress.value
            if now == stalledAt { break }
            stalledAt = now
        }
        #expect(progress.value < total / 4, "sender stalled after \(progress.value) bytes instead of pushing on")
        #expect(!sender.isFinished)
        #expect(relay.statistics.peakBytesInFlight <= 1 << 20, "relay held \(relay.statistics.peakBytesInFlight) bytes")

        // The target reads again: everything arrives, and the bound held throughout.
        let received = TestThreads.start { () throws -> StreamChecksum in
            var checksum = StreamChecksum()
            while checksum.length < total {
                let chunk = try server.receive()
                if chunk.isEmpty { break }
                chunk.withUnsafeBytes { checksum.update($0) }
            }
            return checksum
        }
        try await sender.value
        #expect(try await received.value == pattern.checksum(seed: 42, length: total))
        #expect(relay.statistics.peakBytesInFlight <= 1 << 20, "relay held \(relay.statistics.peakBytesInFlight) bytes")
        client.close()
        server.close()
        #expect(try await relay.shutdown())
        target.close()
    }
}

/// A byte counter shared between a sender thread and the test.
final class ProgressCounter: @unchecked Sendable {
    private let lock = NSLockBox()
    private var count = 0
    func add(_ n: Int) { self.lock.withLock { self.count += n } }
    var value: Int { self.lock.withLock { self.count } }
}

typealias NSLockBox = NSLock
