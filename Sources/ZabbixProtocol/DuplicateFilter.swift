/// Drops rows a sender re-sends after a lost reply, by the rule the Zabbix server applies: within
/// one `session`, a row whose `id` is not above the last id seen is a duplicate.
///
/// Remembers at most ``maximumSessions`` sessions. Eviction is LRU-ish and O(1): sessions live in
/// two generations; a lookup promotes a session to the current generation, and when the current
/// one fills up, the previous one (sessions not seen for a whole generation) is dropped.
public struct DuplicateFilter: Sendable {
    /// Upper bound on remembered sessions.
    public let maximumSessions: Int
    private var current: [SessionKey: UInt64] = [:]
    private var previous: [SessionKey: UInt64] = [:]

    /// A session as the generations key it: its text and the text's hash, computed once. A
    /// lookup then hashes one integer instead of the whole text, and a probe that meets another
    /// session compares the hashes before the texts (sessions of one agent fleet may share long
    /// prefixes). The hash is the process's seeded `hashValue`: as unpredictable to a client as
    /// the dictionary's own.
    private struct SessionKey: Hashable {
        let text: String
        let hash: Int

        init(_ text: String) {
            self.text = text
            self.hash = text.hashValue
        }

        static func == (lhs: SessionKey, rhs: SessionKey) -> Bool {
            lhs.hash == rhs.hash && lhs.text == rhs.text
        }

        func hash(into hasher: inout Hasher) {
            hasher.combine(self.hash)
        }
    }

    /// Creates a filter remembering up to `maximumSessions` sessions (at least 2).
    public init(maximumSessions: Int = 100_000) {
        self.maximumSessions = max(2, maximumSessions)
    }

    /// Number of sessions remembered.
    public var sessionCount: Int { self.current.count + self.previous.count }

    /// Whether a row with `id` in `session` is new; records it when it is.
    public mutating func accept(session: String, id: UInt64) -> Bool {
        let session = SessionKey(session)
        let last: UInt64?
        if let value = self.current[session] {
            last = value
        } else if let value = self.previous.removeValue(forKey: session) {
            last = value
        } else {
            last = nil
        }
        if let last, id <= last {
            self.remember(session, last)
            return false
        }
        self.remember(session, id)
        return true
    }

    /// `values` without duplicates, in order. Values without a session or id always pass.
    ///
    /// Same result as ``accept(session:id:)`` row by row, but a run of rows of one session (an
    /// upload: one session per frame) costs one lookup, and nothing is copied when nothing is dropped.
    public mutating func filter(_ values: [ItemValue]) -> [ItemValue] {
        self.scan(values, remembering: true)
    }

    /// `values` without the rows already remembered (and without rows whose id does not grow
    /// within `values`), in order; remembers nothing.
    ///
    /// With ``remember(_:)`` this splits what ``filter(_:)`` does in one step, so that only rows
    /// the server accepted are remembered: a client's retry after a reply the tee never saw is
    /// then decoded again (and emitted once the server accepts it), while a retry of rows whose
    /// acceptance the tee did see is dropped.
    public func unseen(_ values: [ItemValue]) -> [ItemValue] {
        var view = self  // never written when not remembering: no copy is made
        return view.scan(values, remembering: false)
    }

    /// The rows of `values` above the last id of their session. `remembering`: record each
    /// session's last id as it goes (``filter(_:)``); otherwise only read (``unseen(_:)``), with
    /// the runs seen so far in `values` standing in for what would have been recorded.
    private mutating func scan(_ values: [ItemValue], remembering: Bool) -> [ItemValue] {
        var kept: [ItemValue]?  // built only from the first dropped row on
        var run: (session: SessionKey, last: UInt64?)?
        var earlierRuns: [SessionKey: UInt64] = [:]  // unseen only, sessions interleaved within `values`
        for index in values.indices {
            var keep = true
            if let session = values[index].session, let id = values[index].id {
                if run?.session.text != session {
                    if let finished = run, let last = finished.last {
                        if remembering {
                            self.remember(finished.session, last)
                        } else {
                            earlierRuns[finished.session] = last
                        }
                    }
                    let session = SessionKey(session)
                    let last =
                        remembering
                        ? self.lastID(of: session)
                        : Self.lookUp(session, in: earlierRuns) ?? self.current[session]
                            ?? Self.lookUp(session, in: self.previous)
                    run = (session, last)
                }
                if let last = run!.last, id <= last {
                    keep = false
                } else {
                    run!.last = id
                }
            }
            if !keep, kept == nil {
                kept = Array(values[..<index])
            } else if keep, kept != nil {
                kept!.append(values[index])
            }
        }
        if remembering, let finished = run, let last = finished.last { self.remember(finished.session, last) }
        return kept ?? values
    }

    /// Remembers the rows of `values` as seen: per session, the highest id (never lowering what
    /// is remembered).
    public mutating func remember(_ values: [ItemValue]) {
        self.remember(rows: values.lazy.map { (session: $0.session, id: $0.id) })
    }

    /// Remembers `(session, id)` pairs as seen (rows without either are passed over): per
    /// session, the highest id, never lowering what is remembered. A run of one session costs one
    /// lookup.
    public mutating func remember<Rows: Sequence>(rows: Rows) where Rows.Element == (session: String?, id: UInt64?) {
        var run: (session: String, highest: UInt64)?
        for row in rows {
            guard let session = row.session, let id = row.id else { continue }
            if let current = run, current.session == session {
                run!.highest = max(current.highest, id)
                continue
            }
            if let finished = run { self.rememberAtLeast(SessionKey(finished.session), finished.highest) }
            run = (session, id)
        }
        if let finished = run { self.rememberAtLeast(SessionKey(finished.session), finished.highest) }
    }

    private mutating func rememberAtLeast(_ session: SessionKey, _ id: UInt64) {
        if self.current.count >= self.maximumSessions / 2 {
            // A full generation: a new session starts the next one (``remember(_:_:)``).
            if let index = self.current.index(forKey: session) {
                if self.current.values[index] < id { self.current.values[index] = id }
                return
            }
            self.remember(session, max(self.takePrevious(session) ?? 0, id))
            return
        }
        // One lookup for a session already in this generation and for a
        // new one: written, then put back if it was higher.
        if let old = self.current.updateValue(id, forKey: session) {
            if old > id { self.current[session] = old }
            return
        }
        // New in this generation: what the previous one remembered, if higher.
        if let last = self.takePrevious(session), last > id { self.current[session] = last }
    }

    /// Remembers `id` as seen in `session` (never lowering what is remembered): for callers that
    /// hold rows of another type and pass each session's highest id once.
    public mutating func remember(session: String, id: UInt64) {
        self.rememberAtLeast(SessionKey(session), id)
    }

    /// The last id seen in `session`, taken out of the previous generation (``remember(_:_:)`` puts
    /// it back in the current one).
    private mutating func lastID(of session: SessionKey) -> UInt64? {
        if let value = self.current[session] { return value }
        return self.takePrevious(session)
    }

    /// `session`'s id in `ids`; an empty dictionary is not searched (no hashing of the session).
    private static func lookUp(_ session: SessionKey, in ids: [SessionKey: UInt64]) -> UInt64? {
        ids.isEmpty ? nil : ids[session]
    }

    /// `session`'s last id in the previous generation, taken out of it. An empty generation (the
    /// filter's first, or after a quiet spell) is not searched: no hashing of the session.
    private mutating func takePrevious(_ session: SessionKey) -> UInt64? {
        self.previous.isEmpty ? nil : self.previous.removeValue(forKey: session)
    }

    private mutating func remember(_ session: SessionKey, _ id: UInt64) {
        // The count first: only a full generation needs to know whether the session is in it.
        if self.current.count >= self.maximumSessions / 2 && self.current[session] == nil {
            self.previous = self.current
            self.current = [:]
            self.current.reserveCapacity(self.maximumSessions / 2)
        }
        self.current[session] = id
    }
}
