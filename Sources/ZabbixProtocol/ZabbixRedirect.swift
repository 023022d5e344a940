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

    /// Longest ``address`` kept: `host:port` of a DNS name fits; longer text is not an address.
    static let maximumAddressLength = 512

    /// Reads the value of a reply's `redirect` member: `nil` unless it is an object. The first
    /// member of each name counts; `reset` may be a boolean or a number (non-zero is true).
    static func read(_ reader: inout JSONReader) throws(JSONParseError) -> ZabbixRedirect? {
        guard try reader.peekKind() == .object else {
            try reader.skipValue()
            return nil
        }
        var redirect = ZabbixRedirect()
        var seen = (address: false, revision: false, reset: false)
        try reader.beginObject()
        while let name = try reader.nextName() {
            if !seen.address, reader.name(name, is: "address") {
                seen.address = true
                redirect.address = try reader.text(
                    try reader.readScalar(),
                    maximumCharacters: Self.maximumAddressLength
                )
            } else if !seen.revision, reader.name(name, is: "revision") {
                seen.revision = true
                redirect.revision = reader.uint64(try reader.readScalar())
            } else if !seen.reset, reader.name(name, is: "reset") {
                seen.reset = true
                switch try reader.readScalar() {
                case .bool(let value): redirect.reset = value
                case let other: redirect.reset = (reader.int64(other) ?? 0) != 0
                }
            } else {
                try reader.skipValue()
            }
        }
        return redirect
    }
}
