import NIOCore
import ZabbixProtocol

/// Decides which itemids the tee asks the Zabbix API about, and when (`catalog.zabbix_api`):
/// batching, a negative cache with a time to live, a rate limit, a timeout per request and a
/// circuit breaker. Events in, actions out, time a parameter; ``CatalogAPIClient`` carries the
/// actions out over HTTP.
///
/// Why it is shaped this way: values that wait for an itemid wait at most `catalog.unresolved_wait`
/// (in ``ItemCatalogStore``), whatever happens here, so nothing in this machine can slow the relay
/// or the side pipeline. What it must prevent is the opposite harm, the tee hurting the API:
/// * one request at a time, at most ``Configuration/maximumBatch`` itemids in it, and at most one
///   started per ``Configuration/minimumInterval``; itemids wanted meanwhile are batched;
/// * an itemid the API did not know is not asked about again for ``Configuration/notFoundTTL``;
/// * after ``Configuration/breakerFailures`` failed requests in a row the breaker opens: no
///   request for ``Configuration/breakerOpenFor``, then one probe (half-open) decides;
/// * every wanted itemid carries the deadline of the value waiting for it: past it, asking is
///   pointless (the value has fallen back), so it leaves the queue.
///
/// The first request asks `apiinfo.version`, which needs no token, to learn how to present it
/// (the body's `auth` member before 6.4, the `Authorization` header from 6.4 on).
struct CatalogAPILookupStateMachine {
    struct Configuration: Sendable, Hashable {
        /// Itemids in one `item.get`.
        var maximumBatch = 500
        /// How long one request may take, connection included.
        var requestTimeout: Duration = .seconds(5)
        /// The shortest time between the starts of two requests (`1 / rate`).
        var minimumInterval: Duration = .milliseconds(200)
        /// How long an itemid the API did not know is answered from the negative cache.
        var notFoundTTL: Duration = .seconds(300)
        /// Failed requests in a row that open the breaker.
        var breakerFailures = 3
        /// How long the open breaker refuses before one probe.
        var breakerOpenFor: Duration = .seconds(30)
        /// Itemids waiting to be asked about, and itemids in the negative cache, at most each.
        var maximumQueued = 100_000
    }

    /// A request to make.
    struct Request: Sendable, Hashable {
        enum Kind: Sendable, Hashable {
            /// `apiinfo.version`, before the first `item.get`.
            case version
            /// `item.get`; `authMember`: the token goes in the body (API before 6.4).
            case items([UInt64], authMember: Bool)
        }

        var id: UInt64
        var kind: Kind
    }

    enum Action: Sendable, Hashable {
        /// Make this request.
        case send(Request)
        /// The request timed out: abandon it (close its connection).
        case cancel(requestID: UInt64)
        /// The API named these items: teach the catalog.
        case resolved([UInt64: ItemCatalogEntry])
        /// The API does not know these itemids (or they were in the negative cache): the values
        /// waiting for them need not wait any longer.
        case notFound([UInt64])
    }

    /// What became of wanted itemids (`zabbix_tee_catalog_api_items_total{outcome}`).
    enum ItemOutcome: String, Sendable, Hashable, CaseIterable {
        case resolved
        case notFound = "not_found"
        /// Answered from the negative cache, without a request.
        case notFoundCached = "not_found_cached"
        /// Not asked: the breaker was open.
        case circuitOpen = "circuit_open"
        /// Not asked: the queue was full.
        case queueFull = "queue_full"
        /// Left the queue unasked: the value waiting for it had fallen back.
        case expired
    }

    /// How requests ended, or why one was not started (`zabbix_tee_catalog_api_requests_total{outcome}`).
    enum RequestOutcome: String, Sendable, Hashable, CaseIterable {
        case ok
        /// Connection refused or lost, an HTTP status other than 200, an answer that is not a
        /// JSON-RPC result, or the API's own error (a bad token).
        case error
        case timeout
        /// A request was due but the rate limit deferred it (counted once per deferral).
        case rateLimited = "rate_limited"
    }

    enum Failure: Sendable, Hashable {
        case error
        case timeout
    }

    enum Breaker: Sendable, Hashable {
        case closed(failures: Int)
        case open(until: ContinuousClock.Instant)
        /// One probe request decides.
        case halfOpen
    }

    private struct InFlight {
        var request: Request
        var deadline: ContinuousClock.Instant
    }

    let configuration: Configuration
    private(set) var breaker = Breaker.closed(failures: 0)
    private(set) var itemOutcomes: [ItemOutcome: Int] = [:]
    private(set) var requestOutcomes: [RequestOutcome: Int] = [:]
    /// Whether the API wants the token in the body; `nil` until `apiinfo.version` answered.
    private(set) var authMember: Bool?
    /// Wanted itemids (queued or in flight) and until when the values waiting for them wait.
    private var wanted: [UInt64: ContinuousClock.Instant] = [:]
    private var queue = CircularBuffer<UInt64>()
    private var notFound: [UInt64: ContinuousClock.Instant] = [:]
    private var inFlight: InFlight?
    private var nextRequestID: UInt64 = 1
    private var nextSendAllowed: ContinuousClock.Instant?
    private var deferredByRate = false
    private var nextPrune: ContinuousClock.Instant?

    init(configuration: Configuration) {
        self.configuration = configuration
    }

    /// The request awaited now, if any (an answer to any other is late and changes nothing).
    var inFlightRequestID: UInt64? { self.inFlight?.request.id }
    /// Itemids waiting to be asked about (or being asked).
    var wantedCount: Int { self.wanted.count }
    /// Itemids in the negative cache (expired ones included until the next prune).
    var notFoundCount: Int { self.notFound.count }
    var isOpen: Bool {
        if case .closed = self.breaker { return false }
        return true
    }

    // MARK: Events

    /// Values wait for `itemids` until `deadline`.
    mutating func want(
        _ itemids: [UInt64],
        until deadline: ContinuousClock.Instant,
        now: ContinuousClock.Instant
    ) -> [Action] {
        var known: [UInt64] = []
        for itemid in itemids {
            if let expiry = self.notFound[itemid] {
                if expiry > now {
                    self.count(.notFoundCached)
                    known.append(itemid)
                    continue
                }
                self.notFound[itemid] = nil
            }
            if case .open(let until) = self.breaker, now < until {
                self.count(.circuitOpen)
                continue
            }
            if let previous = self.wanted[itemid] {
                self.wanted[itemid] = max(previous, deadline)
                continue
            }
            guard self.wanted.count < self.configuration.maximumQueued else {
                self.count(.queueFull)
                continue
            }
            self.wanted[itemid] = deadline
            self.queue.append(itemid)
        }
        var actions: [Action] = known.isEmpty ? [] : [.notFound(known)]
        actions += self.pump(now: now)
        return actions
    }

    /// Time passed: a request past its timeout fails, the breaker may half-open, a request the
    /// rate limit deferred may start.
    mutating func tick(now: ContinuousClock.Instant) -> [Action] {
        var actions: [Action] = []
        if let inFlight = self.inFlight, now >= inFlight.deadline {
            actions.append(.cancel(requestID: inFlight.request.id))
            actions += self.failed(requestID: inFlight.request.id, .timeout, now: now)
            return actions
        }
        if self.notFound.count >= self.configuration.maximumQueued / 2 {
            self.notFound = self.notFound.filter { $0.value > now }
        }
        return self.pump(now: now)
    }

    /// `apiinfo.version` answered.
    mutating func answered(requestID: UInt64, version: ZabbixVersion, now: ContinuousClock.Instant) -> [Action] {
        guard let inFlight = self.inFlight, inFlight.request.id == requestID, inFlight.request.kind == .version else {
            return []
        }
        self.inFlight = nil
        self.authMember = ZabbixAPIItemGet.wantsAuthMember(version)
        self.succeeded()
        return self.pump(now: now)
    }

    /// `item.get` answered with `entries` (the itemids it asked about that the API knows).
    mutating func answered(
        requestID: UInt64,
        entries: [UInt64: ItemCatalogEntry],
        now: ContinuousClock.Instant
    ) -> [Action] {
        guard let inFlight = self.inFlight, inFlight.request.id == requestID,
            case .items(let asked, _) = inFlight.request.kind
        else { return [] }
        self.inFlight = nil
        self.succeeded()
        var named: [UInt64: ItemCatalogEntry] = [:]
        var missing: [UInt64] = []
        for itemid in asked {
            self.wanted[itemid] = nil
            if let entry = entries[itemid] {
                named[itemid] = entry
            } else {
                missing.append(itemid)
                if self.notFound.count < self.configuration.maximumQueued {
                    self.notFound[itemid] = now + self.configuration.notFoundTTL
                }
            }
        }
        self.count(.resolved, named.count)
        self.count(.notFound, missing.count)
        var actions: [Action] = []
        if !named.isEmpty { actions.append(.resolved(named)) }
        if !missing.isEmpty { actions.append(.notFound(missing)) }
        return actions + self.pump(now: now)
    }

    /// The request failed (or, from ``tick(now:)``, timed out). Its itemids go back to the
    /// front of the queue, to be asked again while their values still wait.
    mutating func failed(requestID: UInt64, _ failure: Failure, now: ContinuousClock.Instant) -> [Action] {
        guard let inFlight = self.inFlight, inFlight.request.id == requestID else { return [] }
        self.inFlight = nil
        self.requestOutcomes[failure == .timeout ? .timeout : .error, default: 0] += 1
        if case .items(let asked, _) = inFlight.request.kind {
            for itemid in asked.reversed() where self.wanted[itemid] != nil { self.queue.prepend(itemid) }
        }
        switch self.breaker {
        case .closed(let failures) where failures + 1 < self.configuration.breakerFailures:
            self.breaker = .closed(failures: failures + 1)
        case .closed, .halfOpen, .open:
            self.breaker = .open(until: now + self.configuration.breakerOpenFor)
        }
        return self.pump(now: now)
    }

    // MARK: Deciding

    private mutating func succeeded() {
        self.requestOutcomes[.ok, default: 0] += 1
        self.breaker = .closed(failures: 0)
    }

    /// Starts the next request when one is due and allowed.
    private mutating func pump(now: ContinuousClock.Instant) -> [Action] {
        guard self.inFlight == nil else { return [] }
        self.dropExpired(now: now)
        guard !self.queue.isEmpty else { return [] }
        switch self.breaker {
        case .open(let until) where now < until:
            // The values fall back at their deadline; nothing is asked meanwhile.
            return []
        case .open:
            self.breaker = .halfOpen
        case .closed, .halfOpen:
            break
        }
        if let allowed = self.nextSendAllowed, now < allowed {
            if !self.deferredByRate {
                self.deferredByRate = true
                self.requestOutcomes[.rateLimited, default: 0] += 1
            }
            return []
        }
        self.deferredByRate = false
        self.nextSendAllowed = now + self.configuration.minimumInterval
        let kind: Request.Kind
        if let authMember = self.authMember {
            var batch: [UInt64] = []
            batch.reserveCapacity(min(self.queue.count, self.configuration.maximumBatch))
            while batch.count < self.configuration.maximumBatch, let itemid = self.queue.popFirst() {
                batch.append(itemid)
            }
            kind = .items(batch, authMember: authMember)
        } else {
            kind = .version
        }
        let request = Request(id: self.nextRequestID, kind: kind)
        self.nextRequestID += 1
        self.inFlight = InFlight(request: request, deadline: now + self.configuration.requestTimeout)
        return [.send(request)]
    }

    /// Queued itemids whose values have all fallen back already leave the queue (a walk over the
    /// queue, at most once a second).
    private mutating func dropExpired(now: ContinuousClock.Instant) {
        guard !self.queue.isEmpty, self.nextPrune.map({ now >= $0 }) ?? true else { return }
        self.nextPrune = now + .seconds(1)
        var kept = CircularBuffer<UInt64>(initialCapacity: self.queue.count)
        var expired = 0
        while let itemid = self.queue.popFirst() {
            if let deadline = self.wanted[itemid], deadline > now {
                kept.append(itemid)
            } else {
                self.wanted[itemid] = nil
                expired += 1
            }
        }
        self.queue = kept
        self.count(.expired, expired)
    }

    private mutating func count(_ outcome: ItemOutcome, _ n: Int = 1) {
        guard n > 0 else { return }
        self.itemOutcomes[outcome, default: 0] += n
    }
}
