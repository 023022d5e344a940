import NIOCore
import Relay
import Testing

/// The order in which targets are tried, without sockets.
struct TargetPoolTests {
    let a = Endpoint(host: "10.0.0.1", port: 10051)
    let b = Endpoint(host: "10.0.0.2", port: 10051)
    let c = Endpoint(host: "10.0.0.3", port: 10051)

    @Test func failoverTriesTargetsInConfigurationOrder() {
        let pool = TargetPool(targets: [a, b, c], strategy: .failover, coolDown: .seconds(30))
        #expect(pool.candidates() == [0, 1, 2])
        #expect(pool.candidates() == [0, 1, 2])
    }

    @Test(arguments: [BalanceStrategy.failover, .roundRobin, .random])
    func aPoolWithoutTargetsOffersNoCandidatesInsteadOfStopping(strategy: BalanceStrategy) {
        let pool = TargetPool(targets: [], strategy: strategy, coolDown: .seconds(30))
        #expect(pool.candidates().isEmpty)
        #expect(pool.candidates().isEmpty)
    }

    @Test func failedTargetIsTriedLastUntilItsCoolDownEnds() {
        let pool = TargetPool(targets: [a, b, c], strategy: .failover, coolDown: .seconds(30))
        let now = NIODeadline.now()
        pool.recordFailure(0, now: now)
        #expect(pool.candidates(now: now + .seconds(1)) == [1, 2, 0])
        #expect(!pool.isHealthy(0, now: now + .seconds(1)))
        #expect(pool.candidates(now: now + .seconds(31)) == [0, 1, 2])
        #expect(pool.isHealthy(0, now: now + .seconds(31)))
    }

    @Test func allTargetsCoolingDownAreStillTriedLeastRecentlyFailedFirst() {
        let pool = TargetPool(targets: [a, b], strategy: .failover, coolDown: .seconds(30))
        let now = NIODeadline.now()
        pool.recordFailure(1, now: now)
        pool.recordFailure(0, now: now + .seconds(1))
        #expect(pool.candidates(now: now + .seconds(2)) == [1, 0])
    }

    @Test func successEndsTheCoolDown() {
        let pool = TargetPool(targets: [a, b], strategy: .failover, coolDown: .seconds(30))
        pool.recordFailure(0)
        pool.recordSuccess(0)
        #expect(pool.candidates() == [0, 1])
        #expect(pool.statistics[0].failedConnects == 1)
        #expect(pool.statistics[0].successfulConnects == 1)
    }

    @Test func roundRobinStartsEachConnectionAtTheNextTarget() {
        let pool = TargetPool(targets: [a, b, c], strategy: .roundRobin, coolDown: .seconds(30))
        #expect(pool.candidates().first == 0)
        #expect(pool.candidates().first == 1)
        #expect(pool.candidates().first == 2)
        #expect(pool.candidates() == [0, 1, 2])
    }

    @Test func roundRobinSkipsACoolingTarget() {
        let pool = TargetPool(targets: [a, b, c], strategy: .roundRobin, coolDown: .seconds(30))
        pool.recordFailure(1)
        let firsts = (0..<6).map { _ in pool.candidates().first! }
        #expect(!firsts.contains(1))
        #expect(Set(firsts) == [0, 2])
    }

    @Test func randomUsesEveryHealthyTarget() {
        let pool = TargetPool(targets: [a, b, c], strategy: .random, coolDown: .seconds(30))
        var seen = Set<Int>()
        for _ in 0..<200 { seen.insert(pool.candidates().first!) }
        #expect(seen == [0, 1, 2])
        #expect(pool.candidates().sorted() == [0, 1, 2])
    }
}

struct EndpointTests {
    @Test(arguments: [
        ("127.0.0.1:10051", "127.0.0.1", 10051),
        ("[::1]:10051", "::1", 10051),
        ("zabbix.example.net:10051", "zabbix.example.net", 10051),
        ("0.0.0.0:0", "0.0.0.0", 0),
    ])
    func parsesHostAndPort(text: String, host: String, port: Int) throws {
        let endpoint = try Endpoint(parsing: text)
        #expect(endpoint.host == host)
        #expect(endpoint.port == port)
        #expect(endpoint.description == text)
    }

    @Test(arguments: [
        "10051", "host:", ":10051", "host:99999", "::1:10051", "[::1]10051", "[::1", "host:port", "host:+10051",
        "host:010051", "host: 10051", "[::1]:-1",
    ])
    func rejectsMalformedAddresses(text: String) {
        #expect(throws: Endpoint.ParseError.self) { try Endpoint(parsing: text) }
    }
}
