import NIOCore
import Relay
import RelaySimulation
import TestSupport
import Testing

extension SeededGenerator: RelayChoices {
    public mutating func next(_ bound: Int) -> Int {
        Int.random(in: 0..<max(1, bound), using: &self)
    }
}

/// Random interleavings of data, end of stream, resets, closes, consumption, connect outcomes and
/// time on both sides of one connection, against the relay's promises (see ``RelaySimulation``):
/// byte identity per direction, FIN only after the bytes before it, nothing read from a side
/// whose bytes wait for the other, every descriptor closed exactly once, and the connection
/// finishing — without a deadline when both peers finish cleanly.
@Suite struct RelayStateMachinePropertyTests {
    /// One random setting: buffer sizes from one byte (every write short) up, one to four
    /// candidates of which some fail, short or default deadlines.
    static func simulation(seed: UInt64) -> RelaySimulation {
        var rng = SeededGenerator(seed: seed)
        let short = rng.next(2) == 0
        let timeouts =
            short
            ? RelayTimeouts(
                connect: .milliseconds(300),
                firstByte: .seconds(2),
                idle: .seconds(5),
                drain: .seconds(1),
                clientFin: .seconds(1),
                serverReply: .seconds(3)
            )
            : RelayTimeouts()
        let targets = 1 + rng.next(4)
        return RelaySimulation(
            timeouts: timeouts,
            targetCount: targets,
            failingTargets: rng.next(targets + 1),
            refuseAdmission: rng.next(50) == 0,
            scratchSize: 1 + rng.next(64),
            clientCapacity: 1 + rng.next(80),
            serverCapacity: 1 + rng.next(80),
            moreBeforeEndOfStream: rng.next(2) == 0,
            timeMoves: rng.next(3) != 0
        )
    }

    @Test(arguments: 0..<8)
    func randomInterleavingsKeepEveryPromise(batch: Int) {
        for index in 0..<150 {
            let seed = UInt64(batch * 1000 + index)
            var choices = SeededGenerator(seed: seed &* 7919 &+ 13)
            let result = RelaySimulation.run(Self.simulation(seed: seed), steps: 300, choices: &choices)
            #expect(result.violations.isEmpty, "seed \(seed): \(result.violations.prefix(3))")
            if !result.violations.isEmpty { return }
        }
    }

    /// Peers that never reset or stop: whatever the buffer sizes and the order of events, every
    /// byte arrives, both ends of stream arrive, and no deadline is needed.
    @Test(arguments: 0..<4)
    func wellBehavedPeersGetEveryByteAndBothEndsOfStream(batch: Int) {
        struct Polite: RelayChoices {
            var rng: SeededGenerator
            var count = 0
            mutating func next(_ bound: Int) -> Int {
                count += 1
                // No resets, closes, time or close requests (step kinds 7, 9, 10): data,
                // consumption, ends of stream and connects only.
                let value = Int.random(in: 0..<max(1, bound), using: &self.rng)
                if bound == 12 { return [0, 1, 2, 3, 4, 5, 6, 8, 11][value % 9] }
                return value
            }
        }
        for index in 0..<100 {
            let seed = UInt64(batch * 1000 + index)
            var rng = SeededGenerator(seed: seed)
            let simulation = RelaySimulation(
                scratchSize: 1 + rng.next(64),
                clientCapacity: 1 + rng.next(80),
                serverCapacity: 1 + rng.next(80),
                moreBeforeEndOfStream: rng.next(2) == 0
            )
            var choices = Polite(rng: SeededGenerator(seed: seed &+ 99))
            let result = RelaySimulation.run(simulation, steps: 400, choices: &choices)
            #expect(result.violations.isEmpty, "seed \(seed): \(result.violations.prefix(3))")
            #expect(!result.cut && result.timeoutsFired.isEmpty, "seed \(seed)")
            if !result.violations.isEmpty { return }
        }
    }
}
