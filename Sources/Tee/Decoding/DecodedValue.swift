import Relay
import ZabbixProtocol

/// An item value decoded from relayed traffic, with where it was seen.
public struct DecodedValue: Sendable, Hashable {
    /// The value; host and key filled in from the catalog where the wire carried only an itemid.
    public var value: ItemValue
    /// The listener whose connection carried it.
    public var listener: String
    /// The relayed connection's id (as in the logs).
    public var connection: UInt64
    /// The Zabbix value type (0 float, 1 character, 2 log, 3 unsigned, 4 text) when the catalog
    /// knows it (proxy configuration), else `nil`.
    public var valueType: Int64?
    /// When the tee decoded it, Unix microseconds (the event time when the value has no clock).
    public var seenAtMicros: Int64
    /// For passive checks, which carry no host name: the agent's address (the relay target).
    public var peerHost: String?

    public init(
        value: ItemValue, listener: String, connection: UInt64, valueType: Int64? = nil, seenAtMicros: Int64,
        peerHost: String? = nil
    ) {
        self.value = value
        self.listener = listener
        self.connection = connection
        self.valueType = valueType
        self.seenAtMicros = seenAtMicros
        self.peerHost = peerHost
    }
}

/// Receives decoded values from the side pipeline, on one of its worker threads.
///
/// Must not block: hand values on (the Riemann client's queue never blocks) or drop them.
public protocol ItemValueSink: Sendable {
    func consume(_ values: [DecodedValue])
}
