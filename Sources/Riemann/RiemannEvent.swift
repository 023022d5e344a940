/// The metric of a Riemann event.
///
/// Riemann's protocol has three metric fields; an event carries at most one of them.
/// The server reads the first present of `metric_sint64`, `metric_d`, `metric_f`.
public enum RiemannMetric: Sendable, Hashable {
    /// `metric_sint64` (field 13, zig-zag varint). Use for Zabbix unsigned/integer values.
    case sint64(Int64)
    /// `metric_d` (field 14, 64-bit double). Use for Zabbix float values.
    case double(Double)
    /// `metric_f` (field 15, 32-bit float). Legacy; kept for decoding old clients.
    case float(Float)
}

/// One `Attribute` of a Riemann event: a required key and an optional value.
public struct RiemannAttribute: Sendable, Hashable {
    /// The attribute key (`required` on the wire; an empty key is sent as `""`).
    public var key: String
    /// The attribute value; `nil` means the field is absent on the wire.
    public var value: String?

    @inlinable
    public init(key: String, value: String?) {
        self.key = key
        self.value = value
    }
}

/// A Riemann `Event`, as a plain Swift value.
///
/// Every optional field maps to an optional protobuf field: `nil` means "absent on the wire",
/// which is different from an empty string. Strings are carried through C strings by protobuf-c,
/// so a string is cut at its first NUL character when encoded.
public struct RiemannEvent: Sendable, Equatable {
    /// `time`: Unix time in seconds.
    public var time: Int64?
    /// `time_micros`: Unix time in microseconds; the server prefers it over ``time``.
    public var timeMicros: Int64?
    /// `state`, conventionally `ok`, `warning` or `critical`.
    public var state: String?
    /// `service`; with ``host`` the key of the server's index.
    public var service: String?
    /// `host`.
    public var host: String?
    /// `description`.
    public var description: String?
    /// `tags`, in order.
    public var tags: [String]
    /// `ttl` in seconds.
    public var ttl: Float?
    /// `attributes`, in order (duplicates allowed, as on the wire).
    public var attributes: [RiemannAttribute]
    /// One of the three metric fields, or `nil`.
    public var metric: RiemannMetric?

    // Inlinable: built from another module (the mapper) the event was otherwise made in a
    // temporary and copied out, retaining and releasing each string once more.
    @inlinable
    public init(
        time: Int64? = nil,
        timeMicros: Int64? = nil,
        state: String? = nil,
        service: String? = nil,
        host: String? = nil,
        description: String? = nil,
        tags: [String] = [],
        ttl: Float? = nil,
        attributes: [RiemannAttribute] = [],
        metric: RiemannMetric? = nil
    ) {
        self.time = time
        self.timeMicros = timeMicros
        self.state = state
        self.service = service
        self.host = host
        self.description = description
        self.tags = tags
        self.ttl = ttl
        self.attributes = attributes
        self.metric = metric
    }
}

extension RiemannEvent {
    /// Sets both ``time`` (seconds) and ``timeMicros`` from seconds and nanoseconds, the most
    /// compatible choice (the Go client and the server's own encoder send both).
    public mutating func setTime(seconds: Int64, nanoseconds: Int64 = 0) {
        self.time = seconds
        self.timeMicros = seconds &* 1_000_000 &+ nanoseconds / 1_000
    }
}
