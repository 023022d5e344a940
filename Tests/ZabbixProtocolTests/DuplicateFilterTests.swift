import Testing
import ZabbixProtocol

private func accept(_ filter: inout DuplicateFilter, _ session: String, _ id: UInt64) -> Bool {
    filter.accept(session: session, id: id)
}

private func filtered(_ filter: inout DuplicateFilter, _ values: [ItemValue]) -> [ItemValue] {
    filter.filter(values)
}

@Suite struct DuplicateFilterTests {
    func value(_ session: String?, _ id: UInt64?) -> ItemValue {
        ItemValue(requestType: .agentData, host: "h", key: "k", value: "1", id: id, session: session)
    }

    @Test func dropsRowsWhoseIdIsNotAboveTheLastSeenForTheSession() {
        var filter = DuplicateFilter()
        #expect(accept(&filter, "a", 1))
        #expect(accept(&filter, "a", 2))
        #expect(!accept(&filter, "a", 2))
        #expect(!accept(&filter, "a", 1))
        #expect(accept(&filter, "a", 10))
        #expect(!accept(&filter, "a", 9))
    }

    @Test func sessionsAreIndependent() {
        var filter = DuplicateFilter()
        #expect(accept(&filter, "a", 5))
        #expect(accept(&filter, "b", 1))
        #expect(!accept(&filter, "a", 5))
    }

    @Test func resentBatchIsDroppedWholeAndRowsWithoutSessionOrIdPass() {
        var filter = DuplicateFilter()
        let batch = [value("s", 1), value("s", 2), value(nil, 7), value("s", nil)]
        #expect(filtered(&filter, batch) == batch)
        #expect(filtered(&filter, batch) == [value(nil, 7), value("s", nil)])
        #expect(filtered(&filter, [value("s", 2), value("s", 3)]) == [value("s", 3)])
    }

    @Test func filteringABatchDropsExactlyWhatRowByRowAcceptanceDrops() {
        // Runs of one session, interleaved sessions, re-sent and out-of-order ids, rows without ids.
        var generator = SystemRandomNumberGenerator()
        var batched = DuplicateFilter(maximumSessions: 6)
        var rowByRow = DuplicateFilter(maximumSessions: 6)
        for _ in 0..<300 {
            let batch = (0..<Int.random(in: 0...12, using: &generator)).map { _ in
                value(
                    Bool.random(using: &generator) ? "s\(Int.random(in: 0..<5, using: &generator))" : "s0",
                    Int.random(in: 0..<10, using: &generator) == 0 ? nil : UInt64.random(in: 1...40, using: &generator)
                )
            }
            let expected = batch.filter { row in
                guard let session = row.session, let id = row.id else { return true }
                return rowByRow.accept(session: session, id: id)
            }
            #expect(filtered(&batched, batch) == expected)
        }
    }

    /// Sessions are keyed by their text and its hash: sessions of one fleet that differ only in
    /// their last characters (or not at all but for case) are still told apart, row by row as in
    /// batches, as a plain table of last ids tells them apart.
    @Test func sessionsSharingLongPrefixesAreToldApart() {
        var generator = SystemRandomNumberGenerator()
        let prefix = String(repeating: "1a3e9c4b2d0f5a8c", count: 4)
        let sessions = (0..<50).map { "\(prefix)\(String($0, radix: 16))" } + ["\(prefix)A", "\(prefix)a"]
        var filter = DuplicateFilter(maximumSessions: 1_000)
        var batched = DuplicateFilter(maximumSessions: 1_000)
        var last: [String: UInt64] = [:]
        for _ in 0..<2_000 {
            let session = sessions.randomElement(using: &generator)!
            let id = UInt64.random(in: 1...60, using: &generator)
            let expected = id > last[session, default: 0]
            if expected { last[session] = id }
            #expect(filter.accept(session: session, id: id) == expected)
            #expect(filtered(&batched, [value(session, id)]).isEmpty == !expected)
        }
        #expect(filter.sessionCount == last.count)
    }

    @Test func remembersAtMostMaximumSessions() {
        var filter = DuplicateFilter(maximumSessions: 100)
        for index in 0..<10_000 {
            _ = filter.accept(session: "s\(index)", id: 1)
            #expect(filter.sessionCount <= 100)
        }
    }

    @Test func recentlySeenSessionsSurviveEviction() {
        var filter = DuplicateFilter(maximumSessions: 10)
        #expect(accept(&filter, "busy", 1))
        for index in 0..<1000 {
            _ = filter.accept(session: "once\(index)", id: 1)
            #expect(accept(&filter, "busy", UInt64(index) + 2))
        }
        #expect(!accept(&filter, "busy", 1001))
    }

    @Test func unseenRemembersNothingSoAnUnacceptedBatchPassesAgain() {
        var filter = DuplicateFilter()
        let batch = [value("a", 1), value("a", 2), value("b", 1)]
        #expect(filter.unseen(batch) == batch)
        #expect(filter.unseen(batch) == batch, "nothing was remembered")
        #expect(filter.sessionCount == 0)
        filter.remember(batch)
        #expect(filter.unseen(batch).isEmpty)
        #expect(filter.unseen([value("a", 3), value("b", 1)]) == [value("a", 3)])
    }

    @Test func unseenDropsIdsThatDoNotGrowWithinTheBatchEvenAcrossInterleavedSessions() {
        let filter = DuplicateFilter()
        let batch = [value("a", 1), value("a", 2), value("b", 1), value("a", 2), value("a", 3), value(nil, 1)]
        #expect(filter.unseen(batch) == [value("a", 1), value("a", 2), value("b", 1), value("a", 3), value(nil, 1)])
    }

    @Test func rememberNeverLowersWhatIsRemembered() {
        var filter = DuplicateFilter()
        filter.remember([value("a", 10)])
        filter.remember([value("a", 3)])
        #expect(filter.unseen([value("a", 5), value("a", 11)]) == [value("a", 11)])
    }
}
