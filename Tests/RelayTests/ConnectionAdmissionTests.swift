import LogThrottling
import NIOCore
import Relay
import TestSupport
import Testing

/// The admission rules without sockets: allow-list, connection limits, token bucket, settings
/// replaced at runtime, and refusals counted and logged once per interval.
@Suite struct ConnectionAdmissionTests {
    let statistics = RelayStatistics()
    let log = CapturedLog()
    let start = NIODeadline.now()

    func admission(
        _ settings: ConnectionAdmission.Settings,
        logInterval: TimeAmount = .seconds(60)
    ) -> ConnectionAdmission {
        ConnectionAdmission(
            settings: settings,
            statistics: self.statistics,
            logger: self.log.logger(),
            logInterval: logInterval,
            now: self.start
        )
    }

    func peer(_ ip: String, port: Int = 40000) -> SocketAddress {
        try! SocketAddress(ipAddress: ip, port: port)
    }

    func at(_ milliseconds: Int64) -> NIODeadline { self.start + .milliseconds(milliseconds) }

    @discardableResult
    func admitted(_ admission: ConnectionAdmission, _ ip: String, at time: Int64 = 0) -> ConnectionAdmission.Ticket? {
        if case .admitted(let ticket) = admission.admit(self.peer(ip), now: self.at(time)) { return ticket }
        return nil
    }

    func refusal(_ admission: ConnectionAdmission, _ ip: String, at time: Int64 = 0) -> ConnectionAdmission.Reason? {
        if case .refused(let reason) = admission.admit(self.peer(ip), now: self.at(time)) { return reason }
        return nil
    }

    @Test func everyoneIsAdmittedByDefault() {
        let admission = self.admission(.init())
        #expect(self.admitted(admission, "192.0.2.1") != nil)
        #expect(self.admitted(admission, "2001:db8::1") != nil)
        #expect(admission.openConnections == 2)
        #expect(self.log.entries.isEmpty)
    }

    @Test func addressOutsideTheAllowListIsRefusedCountedAndLogged() throws {
        let admission = self.admission(
            .init(allow: [try IPNetwork(parsing: "10.0.0.0/8"), try IPNetwork(parsing: "::1")])
        )
        #expect(self.admitted(admission, "10.9.8.7") != nil)
        #expect(self.admitted(admission, "::ffff:10.9.8.7") != nil, "IPv4-mapped peers match IPv4 rules")
        #expect(self.admitted(admission, "::1") != nil)
        #expect(self.refusal(admission, "192.0.2.1") == .notAllowed)
        #expect(self.statistics.connectionsRefused(.notAllowed) == 1)
        #expect(admission.openConnections == 3)
        let lines = self.log.entries(containing: "not in the listener's allow list")
        #expect(lines.count == 1)
        #expect(lines.first?.level == .warning)
        #expect(lines.first?.metadata["peer"] == "192.0.2.1:40000")
        #expect(lines.first?.metadata["reason"] == "not_allowed")
    }

    @Test func listenerLimitRefusesUntilAConnectionCloses() {
        let admission = self.admission(.init(maxConnections: 2))
        let first = self.admitted(admission, "192.0.2.1")
        #expect(self.admitted(admission, "192.0.2.2") != nil)
        #expect(self.refusal(admission, "192.0.2.3") == .maxConnections)
        admission.release(try! #require(first))
        #expect(self.admitted(admission, "192.0.2.3") != nil)
        #expect(self.statistics.connectionsRefused(.maxConnections) == 1)
        #expect(self.log.entries(containing: "connection limit reached").first?.metadata["max_connections"] == "2")
    }

    @Test func perSourceLimitCountsEachAddressSeparately() {
        let admission = self.admission(.init(maxConnectionsPerSource: 2))
        let first = self.admitted(admission, "127.0.0.1")
        #expect(self.admitted(admission, "127.0.0.1") != nil)
        #expect(self.refusal(admission, "127.0.0.1") == .sourceLimit)
        #expect(self.refusal(admission, "::ffff:127.0.0.1") == .sourceLimit, "the mapped form is the same source")
        #expect(self.admitted(admission, "127.0.0.2") != nil, "another source is not affected")
        #expect(admission.openConnections(from: IPAddress(parsing: "127.0.0.1")!) == 2)
        admission.release(try! #require(first))
        #expect(self.admitted(admission, "127.0.0.1") != nil)
        #expect(self.statistics.connectionsRefused(.sourceLimit) == 2)
        #expect(self.log.entries(containing: "per-source connection limit reached").count == 1)
    }

    @Test func releasedSourcesAreForgotten() {
        let admission = self.admission(.init(maxConnectionsPerSource: 1))
        let tickets = (1...50).compactMap { self.admitted(admission, "192.0.2.\($0)") }
        #expect(tickets.count == 50)
        for ticket in tickets { admission.release(ticket) }
        #expect(admission.openConnections == 0)
        #expect(admission.openConnections(from: IPAddress(parsing: "192.0.2.1")!) == 0)
    }

    @Test func tokenBucketAllowsABurstThenTheRate() {
        let admission = self.admission(.init(acceptRate: AcceptRate(perSecond: 10, burst: 3)))
        for _ in 0..<3 { #expect(self.admitted(admission, "192.0.2.1", at: 0) != nil) }
        #expect(self.refusal(admission, "192.0.2.1", at: 0) == .rateLimit)
        #expect(self.refusal(admission, "192.0.2.1", at: 50) == .rateLimit, "half a token after 50 ms")
        #expect(self.admitted(admission, "192.0.2.1", at: 100) != nil, "one token after 100 ms")
        #expect(self.refusal(admission, "192.0.2.1", at: 100) == .rateLimit)
        // A long pause refills to the burst, no more.
        for _ in 0..<3 { #expect(self.admitted(admission, "192.0.2.1", at: 60_000) != nil) }
        #expect(self.refusal(admission, "192.0.2.1", at: 60_000) == .rateLimit)
        #expect(self.statistics.connectionsRefused(.rateLimit) == 4)
    }

    @Test func refusedConnectionsDoNotSpendTokens() throws {
        let admission = self.admission(
            .init(allow: [try IPNetwork(parsing: "10.0.0.0/8")], acceptRate: AcceptRate(perSecond: 1, burst: 1))
        )
        for _ in 0..<5 { #expect(self.refusal(admission, "192.0.2.1") == .notAllowed) }
        #expect(self.admitted(admission, "10.0.0.1") != nil, "the flood from outside left the token")
    }

    @Test func burstDefaultsToOneSecondsWorth() {
        #expect(AcceptRate(perSecond: 50).burst == 50)
        #expect(AcceptRate(perSecond: 0.2).burst == 1)
        #expect(AcceptRate(perSecond: 2.5).burst == 3)
    }

    @Test func updateReplacesTheLimitsAndKeepsOpenConnectionsCounted() throws {
        let admission = self.admission(.init())
        let tickets = (0..<3).compactMap { _ in self.admitted(admission, "192.0.2.1") }
        #expect(tickets.count == 3)
        admission.update(.init(maxConnections: 10, maxConnectionsPerSource: 3), now: self.at(0))
        #expect(self.refusal(admission, "192.0.2.1") == .sourceLimit, "connections open before the update count")
        admission.update(.init(allow: [try IPNetwork(parsing: "198.51.100.0/24")]), now: self.at(0))
        #expect(self.refusal(admission, "192.0.2.2") == .notAllowed)
        #expect(self.admitted(admission, "198.51.100.9") != nil)
        admission.update(.init(maxConnections: 4), now: self.at(0))
        #expect(self.refusal(admission, "192.0.2.2") == .maxConnections)
        admission.update(.init(acceptRate: AcceptRate(perSecond: 1, burst: 1)), now: self.at(0))
        for ticket in tickets { admission.release(ticket) }
        #expect(self.admitted(admission, "192.0.2.2") != nil, "a new bucket starts full")
        #expect(self.refusal(admission, "192.0.2.2") == .rateLimit)
        #expect(admission.openConnections == 2)
    }

    @Test func refusalsAreLoggedOncePerIntervalWithTheCountAndTheLastPeer() throws {
        let admission = self.admission(.init(allow: [try IPNetwork(parsing: "10.0.0.0/8")]), logInterval: .seconds(60))
        #expect(self.refusal(admission, "192.0.2.1", at: 0) == .notAllowed)
        for index in 2...5 { #expect(self.refusal(admission, "192.0.2.\(index)", at: 1000) == .notAllowed) }
        #expect(self.log.entries.count == 1, "one line for the first refusal, the next four held back")
        #expect(self.refusal(admission, "192.0.2.6", at: 61_000) == .notAllowed)
        let lines = self.log.entries(containing: "allow list")
        #expect(lines.count == 2)
        #expect(lines.last?.metadata["suppressed-since-last-warning"] == "4")
        #expect(lines.last?.metadata["peer"] == "192.0.2.6:40000")
        #expect(lines.first?.metadata["suppressed-since-last-warning"] == nil)
        #expect(self.statistics.connectionsRefused(.notAllowed) == 6, "the counter has every one")
    }

    @Test func eachReasonHasItsOwnInterval() throws {
        let admission = self.admission(.init(allow: [try IPNetwork(parsing: "10.0.0.0/8")], maxConnections: 1))
        #expect(self.refusal(admission, "192.0.2.1") == .notAllowed)
        #expect(self.admitted(admission, "10.0.0.1") != nil)
        #expect(self.refusal(admission, "10.0.0.2") == .maxConnections)
        #expect(self.log.entries.map { $0.metadata["reason"] } == ["not_allowed", "max_connections"])
    }

    @Test func logThrottleLetsOneLinePerKeyAndIntervalThrough() {
        let throttle = LogThrottle<String>(interval: .seconds(10))
        let t0 = NIODeadline.now()
        #expect(throttle.record("a", now: t0) == 0)
        #expect(throttle.record("a", now: t0 + .seconds(1)) == nil)
        #expect(throttle.record("b", now: t0 + .seconds(1)) == 0)
        #expect(throttle.record("a", now: t0 + .seconds(9)) == nil)
        #expect(throttle.record("a", now: t0 + .seconds(10)) == 2)
        #expect(throttle.record("a", now: t0 + .seconds(25)) == 0)
    }

    @Test func concurrentAdmissionsNeverExceedTheLimits() async throws {
        let admission = self.admission(.init(maxConnections: 100, maxConnectionsPerSource: 10))
        let admitted = try await TestThreads.run(8) { thread -> Int in
            var count = 0
            for index in 0..<200 {
                let peer = try SocketAddress(ipAddress: "192.0.2.\((thread * 200 + index) % 20)", port: 1)
                if case .admitted = admission.admit(peer) { count += 1 }
            }
            return count
        }
        #expect(admitted.reduce(0, +) == 100)
        #expect(admission.openConnections == 100)
        let refused = ConnectionAdmission.Reason.allCases.reduce(0) { $0 + self.statistics.connectionsRefused($1) }
        #expect(refused == 8 * 200 - 100)
    }
}
