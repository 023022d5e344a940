import Riemann
import Testing

@Suite struct RiemannEventQueueTests {
    static func events(_ range: Range<Int>) -> [RiemannEvent] {
        range.map { RiemannEvent(service: "e\($0)", metric: .sint64(Int64($0))) }
    }

    /// The bytes the queue accounts for these events.
    static func bytes(_ range: Range<Int>) -> Int {
        self.events(range).reduce(0) { $0 + $1.encodedSizeInMessage }
    }

    static func services(_ entries: [RiemannEventQueue.Entry]) -> [String] {
        entries.map { $0.event.service ?? "?" }
    }

    @Test func takesInFifoOrderUpToTheBatchSize() {
        let queue = RiemannEventQueue(capacity: 100, overflowPolicy: .dropOldest)
        queue.push(Self.events(0..<10))
        #expect(Self.services(queue.take(upTo: 4)) == ["e0", "e1", "e2", "e3"])
        #expect(Self.services(queue.take(upTo: 100)) == (4..<10).map { "e\($0)" })
        #expect(queue.take(upTo: 5).isEmpty)
    }

    @Test func dropOldestKeepsTheNewestAndCountsDrops() {
        let queue = RiemannEventQueue(capacity: 5, overflowPolicy: .dropOldest)
        let first = queue.push(Self.events(0..<3))
        #expect(first == .init(accepted: 3, dropped: 0, depth: 3, bytes: Self.bytes(0..<3), wasEmpty: true))
        let second = queue.push(Self.events(3..<12))
        #expect(second == .init(accepted: 5, dropped: 7, depth: 5, bytes: Self.bytes(7..<12), wasEmpty: false))
        #expect(Self.services(queue.take(upTo: 10)) == (7..<12).map { "e\($0)" })
        let stats = queue.statistics
        #expect(stats.dropped[.queueFull] == 7)
        #expect(stats.enqueued == 12)
    }

    @Test func dropNewestRefusesIncomingAndCountsDrops() {
        let queue = RiemannEventQueue(capacity: 5, overflowPolicy: .dropNewest)
        let result = queue.push(Self.events(0..<12))
        #expect(result == .init(accepted: 5, dropped: 7, depth: 5, bytes: Self.bytes(0..<5), wasEmpty: true))
        #expect(Self.services(queue.take(upTo: 10)) == (0..<5).map { "e\($0)" })
        #expect(queue.statistics.dropped[.queueFull] == 7)
        #expect(queue.statistics.enqueued == 5)
    }

    @Test func putBackRestoresOriginalOrderAtTheFront() {
        let queue = RiemannEventQueue(capacity: 100, overflowPolicy: .dropOldest)
        queue.push(Self.events(0..<10))
        let batch = queue.take(upTo: 4)
        queue.push(Self.events(10..<12))
        queue.putBack(batch)
        #expect(Self.services(queue.take(upTo: 100)) == (0..<12).map { "e\($0)" })
        #expect(queue.statistics.requeued == 4)
    }

    @Test func putBackIntoAFullQueueAppliesThePolicy() {
        let oldest = RiemannEventQueue(capacity: 4, overflowPolicy: .dropOldest)
        oldest.push(Self.events(0..<4))
        let batch = oldest.take(upTo: 3)  // e0 e1 e2
        oldest.push(Self.events(4..<6))  // e3 e4 e5
        oldest.putBack(batch)  // one slot: keeps e2, drops e0 e1 (the oldest)
        #expect(Self.services(oldest.take(upTo: 10)) == ["e2", "e3", "e4", "e5"])
        #expect(oldest.statistics.dropped[.queueFull] == 2)

        let newest = RiemannEventQueue(capacity: 4, overflowPolicy: .dropNewest)
        newest.push(Self.events(0..<4))
        let batch2 = newest.take(upTo: 3)
        newest.push(Self.events(4..<6))
        newest.putBack(batch2)  // drops the newest queued (e4 e5) to keep older undelivered ones
        #expect(Self.services(newest.take(upTo: 10)) == ["e0", "e1", "e2", "e3"])
        #expect(newest.statistics.dropped[.queueFull] == 2)
    }

    @Test func wrapsAroundAndGrowsWithoutLosingOrder() {
        let queue = RiemannEventQueue(capacity: 10_000, overflowPolicy: .dropNewest)
        var expected = 0
        var next = 0
        for round in 0..<50 {
            queue.push(Self.events(next..<(next + 37 + round)))
            next += 37 + round
            for entry in queue.take(upTo: 30) {
                #expect(entry.event.service == "e\(expected)")
                expected += 1
            }
        }
        for entry in queue.take(upTo: 100_000) {
            #expect(entry.event.service == "e\(expected)")
            expected += 1
        }
        #expect(expected == next)
    }

    @Test func removeAllCountsTheReason() {
        let queue = RiemannEventQueue(capacity: 10, overflowPolicy: .dropOldest)
        queue.push(Self.events(0..<7))
        #expect(queue.removeAll(reason: .shutdown) == 7)
        #expect(queue.depth == 0)
        #expect(queue.statistics.dropped[.shutdown] == 7)
        #expect(queue.statistics.droppedTotal == 7)
    }

    @Test func closedQueueDropsLaterPushesAndPutBacks() {
        let queue = RiemannEventQueue(capacity: 10, overflowPolicy: .dropOldest)
        queue.push(Self.events(0..<3))
        let batch = queue.take(upTo: 1)
        #expect(queue.close(reason: .shutdown) == 2)
        let result = queue.push(Self.events(3..<7))
        #expect(result.accepted == 0 && result.dropped == 4)
        queue.putBack(batch)
        #expect(queue.depth == 0)
        #expect(queue.statistics.dropped[.shutdown] == 7)
    }

    /// An array is moved into the queue (its own overload), any other sequence copied: both must
    /// queue, refuse and count the same events, in the same order.
    @Test(arguments: RiemannOverflowPolicy.allCases)
    func anArrayIsQueuedAsAnyOtherSequenceOfTheSameEvents(policy: RiemannOverflowPolicy) {
        // Events of growing size: with an event-size bound, the larger ones are too large.
        func events(_ range: Range<Int>) -> [RiemannEvent] {
            range.map {
                RiemannEvent(
                    service: "e\($0)",
                    description: String(repeating: "x", count: $0 * 7),
                    tags: ["t\($0)"],
                    attributes: [RiemannAttribute(key: "a", value: "\($0)")],
                    metric: .sint64(Int64($0))
                )
            }
        }
        let limits = RiemannEventQueue.Limits(events: 6, bytes: 600, eventBytes: 120)
        let asArray = RiemannEventQueue(limits: limits, overflowPolicy: policy)
        let asSequence = RiemannEventQueue(limits: limits, overflowPolicy: policy)
        for range in [0..<3, 3..<9, 9..<10, 10..<20, 0..<0] {
            let moved = asArray.push(events(range))
            let copied = asSequence.push(AnySequence(events(range)))
            #expect(moved == copied)
            let taken = asArray.take(upTo: 2)
            #expect(taken == asSequence.take(upTo: 2))
        }
        #expect(asArray.statistics == asSequence.statistics)
        #expect(asArray.take(upTo: 100) == asSequence.take(upTo: 100))
        _ = asArray.close(reason: .shutdown)
        _ = asSequence.close(reason: .shutdown)
        #expect(asArray.push(events(0..<4)) == asSequence.push(AnySequence(events(0..<4))))
        #expect(asArray.statistics == asSequence.statistics)
    }

    @Test func concurrentProducersNeverLoseCount() async {
        let queue = RiemannEventQueue(capacity: 1_000, overflowPolicy: .dropOldest)
        await withTaskGroup(of: Void.self) { group in
            for producer in 0..<4 {
                group.addTask {
                    for index in 0..<5_000 {
                        queue.push(RiemannEvent(service: "p\(producer)-\(index)"))
                    }
                }
            }
            group.addTask {
                for _ in 0..<200 {
                    _ = queue.take(upTo: 10)
                }
            }
        }
        let stats = queue.statistics
        #expect(stats.enqueued == 20_000)
        #expect(stats.depth <= 1_000)
    }
}
