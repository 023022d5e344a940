/// Drops rows a sender re-sends after a lost reply, by the rule the Zabbix server applies: within
/// one `session`, a row whose `id` is not above the last id seen is a duplicate.
///
/// Remembers at most ``maximumSessions`` sessions. Eviction is LRU-ish and O(1): sessions live in
/// two generations; a lookup promotes a session to the current generation, and when the current
/// one fills up, the previous one (sessions not seen for a whole generation) is dropped.
public struct DuplicateFilter: Sendable {
    /// Upper bound on remembered sessions.
    public let maximumSessions: Int
    private var current: [String: UInt64] = [:]
    private var previous: [String: UInt64] = [:]

    /// Creates a filter remembering up to `maximumSessions` sessions (at least 2).
    public init(maximumSessions: Int = 100_000) {
        self.maximumSessions = max(2, maximumSessions)
    }

    /// Number of sessions remembered.
    public var sessionCount: Int { self.current.count + self.previous.count }

    /// Whether a row with `id` in `session` is new; records it when it is.
    public mutating func accept(session: String, id: UInt64) -> Bool {
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
        var kept: [ItemValue]?  // built only from the first dropped row on
        var run: (session: String, last: UInt64?)?
        for index in values.indices {
            var keep = true
            if let session = values[index].session, let id = values[index].id {
                if run?.session != session {
                    if let previous = run, let last = previous.last { self.remember(previous.session, last) }
                    run = (session, self.lastID(of: session))
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
        if let previous = run, let last = previous.last { self.remember(previous.session, last) }
        return kept ?? values
    }

    /// The last id seen in `session`, taken out of the previous generation (``remember(_:_:)`` puts
    /// it back in the current one).
    private mutating func lastID(of session: String) -> UInt64? {
        if let value = self.current[session] { return value }
        return self.previous.removeValue(forKey: session)
    }

    private mutating func remember(_ session: String, _ id: UInt64) {
        if self.current[session] == nil && self.current.count >= self.maximumSessions / 2 {
            self.previous = self.current
            self.current = [:]
            self.current.reserveCapacity(self.maximumSessions / 2)
        }
        self.current[session] = id
    }
}
