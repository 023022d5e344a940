/// A Riemann `Msg`: what a client sends (``events``, or a ``query``) and what the server answers
/// (``ok`` and, when `ok` is false, ``error``).
///
/// The deprecated `states` field is neither encoded nor decoded.
public struct RiemannMessage: Sendable, Equatable {
    /// `ok`: set by the server in replies; `nil` when absent.
    public var ok: Bool?
    /// `error`: the server's error text when `ok` is false.
    public var error: String?
    /// `events`, in order.
    public var events: [RiemannEvent]
    /// `query.string`: a query in Riemann's query language; `nil` when there is no `query`.
    public var query: String?

    public init(ok: Bool? = nil, error: String? = nil, events: [RiemannEvent] = [], query: String? = nil) {
        self.ok = ok
        self.error = error
        self.events = events
        self.query = query
    }

    /// The server's positive acknowledgement, `{ok: true}` (body `10 01`).
    public static let ack = RiemannMessage(ok: true)
}
