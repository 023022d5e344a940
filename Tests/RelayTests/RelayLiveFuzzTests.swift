import Foundation
import Relay
import TestSupport
import Testing

/// The two-ended relay fuzzer: one live connection through the relay at a time, and on both of
/// its ends a seeded random sequence of sends, reads, pauses, ends of stream, resets and closes,
/// with deadlines short enough to fire now and then. After each sequence both peers finish (read
/// to the end, shut their sending side) and the relay must let the connection go.
///
/// Oracles, per connection: what each peer received is a prefix of what the other sent — all of
/// it when nobody reset or closed early and no deadline fired; an end of stream arrives only after
/// every byte sent before it; and the relay releases everything: no connection left open, and no
/// socket of the relay's own on the listener's port or towards the target left in the kernel's
/// table.
@Suite(.tags(.integration), .tier(.integration), .serialized, .timeLimit(.minutes(3))) struct RelayLiveFuzzTests {
    /// One end of the relayed connection, non-blocking.
    final class Peer {
        let socket: BlockingSocket
        let seed: UInt8
        var sent: [UInt8] = []
        var received: [UInt8] = []
        var sentBeforeFIN: Int?
        var sawEndOfStream = false
        var sawReset = false
        var resetItself = false
        var closedItself = false

        init(_ socket: BlockingSocket, seed: UInt8) {
            self.socket = socket
            self.seed = seed
            socket.setReceiveBufferSize(4 << 10)
            var size: Int32 = 4 << 10
            _ = setsockopt(socket.fd, SOL_SOCKET, SO_SNDBUF, &size, socklen_t(MemoryLayout<Int32>.size))
            _ = fcntl(socket.fd, F_SETFL, fcntl(socket.fd, F_GETFL) | O_NONBLOCK)
        }

        var done: Bool { self.resetItself || self.closedItself }

        func send(_ count: Int) {
            guard !self.done, self.sentBeforeFIN == nil else { return }
            let start = self.sent.count
            let bytes = (0..<count).map { UInt8(truncatingIfNeeded: (start + $0) &* 131 &+ Int(self.seed)) }
            let taken = bytes.withUnsafeBytes {
                Glibc.send(self.socket.fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL))
            }
            if taken > 0 { self.sent += bytes.prefix(taken) }
        }

        /// Reads what is there (at most `limit` bytes).
        func read(limit: Int = 1 << 20) {
            guard !self.done, !self.sawEndOfStream, !self.sawReset else { return }
            var buffer = [UInt8](repeating: 0, count: 65536)
            var total = 0
            while total < limit {
                let count = buffer.withUnsafeMutableBytes { Glibc.recv(self.socket.fd, $0.baseAddress, $0.count, 0) }
                if count > 0 {
                    self.received += buffer.prefix(count)
                    total += count
                } else if count == 0 {
                    self.sawEndOfStream = true
                    return
                } else {
                    if errno == ECONNRESET { self.sawReset = true }
                    return
                }
            }
        }

        func shutDown() {
            guard !self.done, self.sentBeforeFIN == nil else { return }
            self.sentBeforeFIN = self.sent.count
            self.socket.shutdownWrite()
        }

        func reset() {
            guard !self.done else { return }
            self.resetItself = true
            self.socket.reset()
        }

        func closeEntirely() {
            guard !self.done else { return }
            if self.sentBeforeFIN == nil { self.sentBeforeFIN = self.sent.count }
            self.closedItself = true
            self.socket.close()
        }
    }

    @Test func randomInterleavingsOnBothEndsKeepBytesOrderAndRelease() async throws {
        let target = try BlockingListener()
        let relay = try await RelayHarness(targets: [target.port]) {
            $0.idleTimeout = .seconds(2)
            $0.firstByteTimeout = .seconds(1)
            $0.clientFinTimeout = .milliseconds(400)
            $0.serverReplyTimeout = .milliseconds(700)
            $0.drainTimeout = .milliseconds(400)
            // Small buffers everywhere, so that writes are short and bytes wait in the relay.
            $0.socketBufferSize = 4 << 10
        }
        let port = relay.port
        var deadlinesFired = 0
        for seed in 0..<30 {
            let timedOutBefore = RelayTimeout.allCases.reduce(0) { $0 + relay.statistics.connectionsTimedOut($1) }
            let problems = try await TestThreads.start { () throws -> [String] in
                try Self.run(seed: UInt64(seed), relayPort: port, target: target)
            }.value
            let timedOut =
                RelayTimeout.allCases.reduce(0) { $0 + relay.statistics.connectionsTimedOut($1) } - timedOutBefore
            deadlinesFired += timedOut
            #expect(await eventually(timeout: 10) { relay.listener.openConnections == 0 }, "seed \(seed): released")
            // Deadlines may cut a connection; byte identity is only owed when none did.
            let owed = problems.filter { !$0.hasPrefix("cut:") || timedOut == 0 }
            #expect(owed.isEmpty, "seed \(seed): \(owed)")
            #expect(
                Self.relaySockets(listenPort: port, targetPort: target.port) == 0,
                "seed \(seed): relay sockets left"
            )
        }
        #expect(relay.statistics.bytesInFlight == 0)
        print("live fuzz: 30 connections, \(deadlinesFired) closed by a deadline")
        #expect(try await relay.shutdown())
        target.close()
    }

    /// One connection: random steps on both ends, then both finish. Returns what went wrong;
    /// "cut:" problems are only problems when no deadline fired.
    static func run(seed: UInt64, relayPort: Int, target: BlockingListener) throws -> [String] {
        var rng = SeededGenerator(seed: seed &* 0x9E37 &+ 1)
        let clientSocket = try BlockingSocket.connect(port: relayPort)
        let serverSocket = try target.accept()
        let client = Peer(clientSocket, seed: 7)
        let server = Peer(serverSocket, seed: 101)
        let peers = [client, server]
        // A third of the connections see no reset, close or long pause (every byte is owed), a
        // third long pauses (deadlines fire), a third resets and early closes too.
        let mode = seed % 3
        for _ in 0..<(40 + Int.random(in: 0..<60, using: &rng)) {
            let peer = peers[Int.random(in: 0..<2, using: &rng)]
            switch Int.random(in: 0..<200, using: &rng) {
            case 0..<80: peer.send(1 + Int.random(in: 0..<(24 << 10), using: &rng))
            case 80..<130: peer.read(limit: Int.random(in: 1..<(16 << 10), using: &rng))
            case 130..<180: usleep(UInt32(Int.random(in: 0..<10_000, using: &rng)))
            case 180..<186: peer.shutDown()
            case 186..<189 where mode == 2: peer.reset()
            case 189..<192 where mode == 2: peer.closeEntirely()
            case 192..<196 where mode == 1: usleep(450_000)  // past the short deadlines
            default: peer.read()
            }
        }
        // Both finish: read to the end, end their own stream.
        let started = ContinuousClock.now
        while ContinuousClock.now - started < .seconds(6) {
            for peer in peers {
                peer.read()
                if !peer.done && (peer.sawEndOfStream || peer.sawReset || server.done || client.done) {
                    peer.shutDown()
                }
            }
            if peers.allSatisfy({ $0.done || $0.sawEndOfStream || $0.sawReset }) { break }
            if client.sawEndOfStream || server.sawEndOfStream { for peer in peers { peer.shutDown() } }
            usleep(5_000)
        }
        var problems: [String] = []
        for (receiver, sender, name) in [(server, client, "client->server"), (client, server, "server->client")] {
            if receiver.received.count > sender.sent.count
                || !receiver.received.elementsEqual(sender.sent.prefix(receiver.received.count))
            {
                problems.append("\(name): received bytes that are not a prefix of what was sent")
            }
            if receiver.sawEndOfStream, let fin = sender.sentBeforeFIN, !sender.resetItself,
                receiver.received.count != fin
            {
                problems.append(
                    "cut: \(name): end of stream after \(receiver.received.count) of the \(fin) bytes before it"
                )
            }
            let clean = !client.resetItself && !server.resetItself && !client.closedItself && !server.closedItself
            if clean && receiver.received.count != sender.sent.count {
                problems.append("cut: \(name): \(receiver.received.count) of \(sender.sent.count) bytes arrived")
            }
        }
        for peer in peers { peer.socket.close() }
        return problems
    }

    /// Sockets held by this process (inode ≠ 0) on the relay's listening port other than the
    /// listener, or connected to the target from a port that is not the target's own.
    static func relaySockets(listenPort: Int, targetPort: Int) -> Int {
        guard let text = try? String(contentsOfFile: "/proc/net/tcp", encoding: .utf8) else { return 0 }
        var count = 0
        for line in text.split(separator: "\n").dropFirst() {
            let fields = line.split(separator: " ")
            guard fields.count > 9, let inode = UInt64(fields[9]), inode != 0 else { continue }
            let local = Int(fields[1].split(separator: ":").last ?? "", radix: 16) ?? -1
            let remote = Int(fields[2].split(separator: ":").last ?? "", radix: 16) ?? -1
            let listening = fields[3] == "0A"
            if local == listenPort && !listening { count += 1 }
            if remote == targetPort && local != targetPort { count += 1 }
        }
        return count
    }
}
