import NIOCore
import Relay
import Testing

/// Taps gather work in batches of their event loop, handed on at the end of each iteration.
@Suite struct RelayTapLoopTests {
    final class CountingBatch: RelayTapBatch {
        var flushes = 0
        func flush() { self.flushes += 1 }
    }

    final class Owner {}

    @Test func eachOwnerHasOneBatchPerLoopFlushedAtTheEndOfEveryIteration() {
        let loop = RelayTapLoop(now: .uptimeNanoseconds(0))
        let owner = Owner()
        let other = Owner()
        let batch = loop.batch(for: owner) { CountingBatch() }
        #expect(loop.batch(for: owner) { CountingBatch() } === batch)
        let otherBatch = loop.batch(for: other) { CountingBatch() }
        #expect(otherBatch !== batch)
        loop.iterationEnded()
        loop.iterationEnded()
        #expect(batch.flushes == 2)
        #expect(otherBatch.flushes == 2)
    }

    @Test func aBatchWhoseOwnerIsGoneIsFlushedOnceMoreThenForgotten() {
        let loop = RelayTapLoop(now: .uptimeNanoseconds(0))
        var owner: Owner? = Owner()
        weak let batch = loop.batch(for: owner ?? Owner()) { CountingBatch() }
        owner = nil
        #expect(batch != nil, "the loop holds the batch, not its owner")
        loop.iterationEnded()
        #expect(batch == nil, "flushed a last time and dropped")
    }
}
