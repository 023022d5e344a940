/// The `redirect` object of a 7.0+ reply: proxy groups send an agent or sender to the proxy its
/// host is assigned to (`{"response":"failed","redirect":{"revision":N,"address":"host:port"}}`),
/// or tell it to forget a previous redirect (`{"redirect":{"reset":true}}`).
///
/// The reply itself is a refusal: the values of the request were not stored where they were
/// sent; the client sends them again to ``address``, which may not pass through the tee.
public struct ZabbixRedirect: Sendable, Hashable {
    /// Where the client is sent (`host:port`, the proxy's "address for active agents"); `nil` for a reset.
    public var address: String?
    /// The proxy group's host-mapping revision the redirect is based on.
    public var revision: UInt64?
    /// `reset: true`: the client goes back to its configured server.
    public var reset: Bool

    public init(address: String? = nil, revision: UInt64? = nil, reset: Bool = false) {
        self.address = address
        self.revision = revision
        self.reset = reset
    }

    /// The `redirect` member of a reply, if it has one.
    init?(reply json: JSONObject) {
        guard let object = json["redirect"]?.object else { return nil }
        let reset: Bool
        switch object["reset"] {
        case .bool(let value)?: reset = value
        case let other?: reset = (other.int64 ?? 0) != 0
        case nil: reset = false
        }
        self.init(address: object.string("address"), revision: object.uint64("revision"), reset: reset)
    }
}
