import Testing
import ZabbixProtocol

@testable import Tee

/// The Zabbix API lookups on virtual time: what is asked, when, and what the tee stops asking
/// when the API fails.
struct CatalogAPILookupStateMachineTests {
    typealias Machine = CatalogAPILookupStateMachine
    static let start = ContinuousClock.now
    static func at(_ offset: Duration) -> ContinuousClock.Instant { Self.start + offset }
    static let wait = Self.at(.seconds(30))

    static func machine(_ tune: (inout Machine.Configuration) -> Void = { _ in }) -> Machine {
        var configuration = Machine.Configuration()
        configuration.minimumInterval = .milliseconds(200)
        configuration.requestTimeout = .seconds(5)
        configuration.breakerFailures = 2
        configuration.breakerOpenFor = .seconds(10)
        configuration.notFoundTTL = .seconds(60)
        tune(&configuration)
        return Machine(configuration: configuration)
    }

    /// A machine that already knows the API's version (7.0: the token goes in the header).
    static func ready(_ tune: (inout Machine.Configuration) -> Void = { _ in }) -> Machine {
        var machine = Self.machine(tune)
        let actions = machine.want([1], until: Self.wait, now: Self.start)
        guard case .send(let probe) = actions.first else { preconditionFailure("a probe first") }
        let later = Self.at(.milliseconds(200))
        let sent = machine.answered(requestID: probe.id, version: ZabbixVersion(major: 7, minor: 0), now: later)
        guard case .send(let request) = sent.first else { preconditionFailure("then the item") }
        _ = machine.answered(requestID: request.id, entries: [1: ItemCatalogEntry(host: "h", key: "k")], now: later)
        return machine
    }

    static func sent(_ actions: [Machine.Action]) -> Machine.Request? {
        for action in actions { if case .send(let request) = action { return request } }
        return nil
    }

    static func itemids(_ request: Machine.Request?) -> [UInt64]? {
        guard case .items(let itemids, _) = request?.kind else { return nil }
        return itemids
    }

    @Test func theFirstRequestAsksTheVersionWithoutTokenAndDecidesWhereTheTokenGoes() throws {
        for (version, member) in [
            (ZabbixVersion(major: 6, minor: 0), true), (ZabbixVersion(major: 7, minor: 0), false),
        ] {
            var machine = Self.machine()
            let probe = try #require(Self.sent(machine.want([42], until: Self.wait, now: Self.start)))
            #expect(probe.kind == .version)
            let request = try #require(
                Self.sent(machine.answered(requestID: probe.id, version: version, now: Self.at(.milliseconds(300))))
            )
            #expect(request.kind == .items([42], authMember: member), "\(version)")
        }
    }

    @Test func itemidsWantedWhileARequestIsInFlightGoOutTogetherInBatchesOfTheConfiguredSize() throws {
        var machine = Self.ready { $0.maximumBatch = 3 }
        let first = try #require(Self.sent(machine.want([10], until: Self.wait, now: Self.at(.seconds(1)))))
        #expect(Self.itemids(first) == [10])
        #expect(
            machine.want([11, 12, 11], until: Self.wait, now: Self.at(.seconds(1))).isEmpty,
            "one request at a time"
        )
        #expect(machine.want([13, 14], until: Self.wait, now: Self.at(.seconds(1))).isEmpty)
        let second = try #require(
            Self.sent(machine.answered(requestID: first.id, entries: [:], now: Self.at(.seconds(2))))
        )
        #expect(Self.itemids(second) == [11, 12, 13], "a batch holds at most 3, in the order wanted, each once")
        let third = try #require(
            Self.sent(machine.answered(requestID: second.id, entries: [:], now: Self.at(.seconds(3))))
        )
        #expect(Self.itemids(third) == [14])
    }

    @Test func anAnswerTeachesWhatTheAPIKnowsAndEndsTheWaitOfWhatItDoesNot() throws {
        var machine = Self.ready()
        let request = try #require(Self.sent(machine.want([20, 21], until: Self.wait, now: Self.at(.seconds(1)))))
        let entry = ItemCatalogEntry(host: "web-1", key: "vfs.fs.size[{$MOUNT},free]", valueType: 3)
        let actions = machine.answered(
            requestID: request.id,
            entries: [20: entry, 99: entry],
            now: Self.at(.seconds(1))
        )
        #expect(actions == [.resolved([20: entry]), .notFound([21])], "only what was asked for is taught")
        #expect(machine.itemOutcomes[.resolved] == 2, "one more than ready() resolved")
        #expect(machine.itemOutcomes[.notFound] == 1)
        #expect(machine.wantedCount == 0)
    }

    @Test func anItemidTheAPIDidNotKnowIsAnsweredFromTheNegativeCacheUntilItsTimeToLiveEnds() throws {
        var machine = Self.ready()
        let request = try #require(Self.sent(machine.want([30], until: Self.wait, now: Self.at(.seconds(1)))))
        _ = machine.answered(requestID: request.id, entries: [:], now: Self.at(.seconds(1)))
        #expect(machine.want([30], until: Self.wait, now: Self.at(.seconds(20))) == [.notFound([30])], "no request")
        #expect(machine.itemOutcomes[.notFoundCached] == 1)
        let again = Self.sent(machine.want([30], until: Self.at(.seconds(120)), now: Self.at(.seconds(62))))
        #expect(Self.itemids(again) == [30], "asked again after not_found_ttl")
    }

    @Test func requestsStartAtMostOncePerMinimumIntervalAndADeferralIsCountedOnce() throws {
        var machine = Self.ready()  // its last request started at 200 ms
        let first = try #require(Self.sent(machine.want([1_001], until: Self.wait, now: Self.at(.milliseconds(450)))))
        _ = machine.answered(requestID: first.id, entries: [:], now: Self.at(.milliseconds(460)))
        #expect(machine.want([1_002], until: Self.wait, now: Self.at(.milliseconds(500))).isEmpty, "200 ms not over")
        #expect(machine.tick(now: Self.at(.milliseconds(600))).isEmpty)
        #expect(machine.requestOutcomes[.rateLimited] == 1)
        #expect(Self.itemids(Self.sent(machine.tick(now: Self.at(.milliseconds(650))))) == [1_002])
    }

    @Test func aRequestPastItsTimeoutIsCancelledAndItsItemidsAskedAgainWhileTheirValuesWait() throws {
        var machine = Self.ready()
        let request = try #require(Self.sent(machine.want([40], until: Self.wait, now: Self.at(.seconds(1)))))
        #expect(machine.tick(now: Self.at(.seconds(5))).isEmpty, "4 s: within the timeout")
        let actions = machine.tick(now: Self.at(.seconds(6)))
        #expect(actions.first == .cancel(requestID: request.id))
        #expect(machine.requestOutcomes[.timeout] == 1)
        #expect(Self.itemids(Self.sent(actions)) == [40], "asked again at once (breaker closed, interval over)")
        #expect(
            machine.answered(
                requestID: request.id,
                entries: [40: ItemCatalogEntry(host: "h", key: "k")],
                now: Self.at(.seconds(7))
            ).isEmpty,
            "a late answer to the abandoned request changes nothing"
        )
    }

    @Test func failuresInARowOpenTheBreakerWhichRefusesThenLetsOneProbeDecide() throws {
        var machine = Self.ready()
        let first = try #require(Self.sent(machine.want([50], until: Self.at(.seconds(60)), now: Self.at(.seconds(1)))))
        let second = try #require(Self.sent(machine.failed(requestID: first.id, .error, now: Self.at(.seconds(2)))))
        #expect(!machine.isOpen, "one failure: still closed")
        #expect(machine.failed(requestID: second.id, .error, now: Self.at(.seconds(3))).isEmpty, "two: open")
        #expect(machine.isOpen)
        #expect(machine.want([51], until: Self.at(.seconds(60)), now: Self.at(.seconds(4))).isEmpty)
        #expect(machine.itemOutcomes[.circuitOpen] == 1, "not even queued while open")
        #expect(machine.tick(now: Self.at(.seconds(12))).isEmpty, "open for 10 s")
        let probe = try #require(Self.sent(machine.tick(now: Self.at(.seconds(13)))))
        #expect(Self.itemids(probe) == [50], "half-open: one probe with what still waits")
        #expect(machine.breaker == .halfOpen)
        #expect(machine.failed(requestID: probe.id, .timeout, now: Self.at(.seconds(14))).isEmpty)
        #expect(machine.breaker == .open(until: Self.at(.seconds(24))), "a failed probe opens it again at once")
        let next = try #require(Self.sent(machine.tick(now: Self.at(.seconds(24)))))
        _ = machine.answered(requestID: next.id, entries: [:], now: Self.at(.seconds(25)))
        #expect(machine.breaker == .closed(failures: 0), "a successful probe closes it")
        #expect(machine.requestOutcomes[.error] == 2)
        #expect(machine.requestOutcomes[.timeout] == 1)
    }

    @Test func itemidsWhoseValuesHaveFallenBackLeaveTheQueueUnasked() throws {
        var machine = Self.ready()
        let request = try #require(
            Self.sent(machine.want([60], until: Self.at(.seconds(3)), now: Self.at(.seconds(1))))
        )
        _ = machine.want([61], until: Self.at(.seconds(3)), now: Self.at(.seconds(1)))
        let retry = try #require(Self.sent(machine.failed(requestID: request.id, .error, now: Self.at(.seconds(2)))))
        #expect(Self.itemids(retry) == [60, 61], "the failed batch first, then what was wanted meanwhile")
        _ = machine.failed(requestID: retry.id, .error, now: Self.at(.seconds(3)))
        #expect(machine.isOpen)
        #expect(machine.tick(now: Self.at(.seconds(14))).isEmpty, "the values fell back at 3 s: nothing to probe with")
        #expect(machine.wantedCount == 0)
        #expect(machine.itemOutcomes[.expired] == 2)
    }

    @Test func theQueueIsBounded() throws {
        var machine = Self.ready { $0.maximumQueued = 3 }
        _ = machine.want([1, 2, 3, 4, 5], until: Self.wait, now: Self.at(.seconds(1)))
        #expect(machine.wantedCount == 3)
        #expect(machine.itemOutcomes[.queueFull] == 2)
    }
}
