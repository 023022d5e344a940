import Foundation
import Relay
import TestSupport
import Testing

/// Acceptance: random payloads from 1 byte to 64 MiB, both directions at once, over 200
/// concurrent connections, arrive byte-identical.
@Suite(.tags(.integration), .tier(.integration), .serialized, .timeLimit(.minutes(3))) struct RelayByteIdentityTests {
    /// What one connection sends each way: the client announces the server's stream in a
    /// 16-byte preamble so the target knows what to send back.
    struct Plan: Sendable {
        var clientSeed: UInt64
        var clientLength: Int
        var serverSeed: UInt64
        var serverLength: Int
    }

    /// Log-uniform sizes from 1 B to 64 MiB (most small, as in Zabbix traffic, a few huge),
    /// always including both extremes.
    static func plans(count: Int) -> [Plan] {
        var rng = SeededGenerator(seed: 2026)
        func size() -> Int { Int(exp(Double.random(in: 0...log(Double(64 << 20)), using: &rng)).rounded()) }
        return (0..<count).map { index in
            var plan = Plan(
                clientSeed: rng.next(),
                clientLength: size(),
                serverSeed: UInt64(index),
                serverLength: size()
            )
            if index == 0 {
                plan.clientLength = 64 << 20
                plan.serverLength = 1
            }
            if index == 1 {
                plan.clientLength = 1
                plan.serverLength = 64 << 20
            }
            return plan
        }
    }

    @Test func payloadsOfAllSizesArriveByteIdenticalInBothDirectionsOver200Connections() async throws {
        let pattern = PayloadPattern.shared
        let plans = Self.plans(count: 200)
        let target = try BlockingListener()
        // The target: read the preamble, then send its stream while reading the client's to EOF.
        let targetSide = TestThreads.start { () throws -> [UInt64: StreamChecksum] in
            let sockets = try (0..<plans.count).map { _ in try target.accept() }
            let received = try TestThreadsSync.run(sockets.count) { index -> (UInt64, StreamChecksum) in
                let socket = sockets[index]
                let preamble = try socket.receive(exactly: 16)
                let length = preamble[0..<8].withUnsafeBytes { Int($0.loadUnaligned(as: UInt64.self).littleEndian) }
                let seed = preamble[8..<16].withUnsafeBytes { $0.loadUnaligned(as: UInt64.self).littleEndian }
                socket.setReceiveTimeout(seconds: 60)
                let sender = TestThreads.start {
                    defer { socket.shutdownWrite() }
                    try pattern.send(seed: seed, length: length, on: socket)
                }
                let checksum = try StreamChecksum.receive(from: socket)
                try sender.waitBlocking()
                socket.close()
                return (seed, checksum)
            }
            return Dictionary(uniqueKeysWithValues: received)
        }
        let relay = try await RelayHarness(targets: [target.port])
        let port = relay.port

        let clientResults = try await TestThreads.run(plans.count) { index -> StreamChecksum in
            let plan = plans[index]
            let socket = try BlockingSocket.connect(port: port)
            var preamble = [UInt8]()
            withUnsafeBytes(of: UInt64(plan.serverLength).littleEndian) { preamble += $0 }
            withUnsafeBytes(of: plan.serverSeed.littleEndian) { preamble += $0 }
            try socket.send(preamble)
            socket.setReceiveTimeout(seconds: 60)
            let sender = TestThreads.start {
                defer { socket.shutdownWrite() }
                try pattern.send(seed: plan.clientSeed, length: plan.clientLength, on: socket)
            }
            let received = try StreamChecksum.receive(from: socket)
            try sender.waitBlocking()
            socket.close()
            return received
        }
        let targetResults = try await targetSide.value
        target.close()

        for (index, plan) in plans.enumerated() {
            #expect(
                clientResults[index] == pattern.checksum(seed: plan.serverSeed, length: plan.serverLength),
                "connection \(index): server-to-client"
            )
            #expect(
                targetResults[plan.serverSeed] == pattern.checksum(seed: plan.clientSeed, length: plan.clientLength),
                "connection \(index): client-to-server"
            )
        }
        let totalToServer = plans.reduce(0) { $0 + 16 + $1.clientLength }
        let totalToClient = plans.reduce(0) { $0 + $1.serverLength }
        #expect(relay.statistics.bytesRelayed(.clientToServer) == totalToServer)
        #expect(relay.statistics.bytesRelayed(.serverToClient) == totalToClient)
        #expect(relay.statistics.connectionsAccepted == 200)
        #expect(try await relay.shutdown(), "every relayed connection closed by itself")
        #expect(relay.statistics.bytesInFlight == 0)
    }
}
