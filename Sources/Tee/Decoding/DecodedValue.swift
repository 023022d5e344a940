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
    /// The item's update interval when the catalog knows it (active checks, proxy configuration):
    /// `mapping.ttl: auto` derives the event's TTL from it.
    public var delay: ZabbixUpdateInterval?
    /// When the tee decoded it, Unix microseconds (the event time when the value has no clock).
    public var seenAtMicros: Int64
    /// For passive checks, which carry no host name: the agent's address (the relay target).
    public var peerHost: String?
    /// Set when the value came in a batch the server only partly accepted (`processed: N;
    /// failed: M`, both above 0): M, the rows it refused without saying which. `mapping.partial`
    /// decides whether such values become events (with attribute `zabbix_batch_failed`).
    public var batchFailed: Int64?
    /// The sender's Zabbix version as it announced it (`7.0.9`, `8.0.0rc1`), when it did: for the
    /// `decode --summary` upgrade check.
    public var zabbixVersion: String?

    public init(
        value: ItemValue,
        listener: String,
        connection: UInt64,
        valueType: Int64? = nil,
        seenAtMicros: Int64,
        peerHost: String? = nil,
        batchFailed: Int64? = nil,
        zabbixVersion: String? = nil,
        delay: ZabbixUpdateInterval? = nil
    ) {
        self.delay = delay
        self.value = value
        self.listener = listener
        self.connection = connection
        self.valueType = valueType
        self.seenAtMicros = seenAtMicros
        self.peerHost = peerHost
        self.batchFailed = batchFailed
        self.zabbixVersion = zabbixVersion
    }

    /// The service of a value whose itemid no catalog resolved: `itemid:N`. The one place this
    /// fallback is spelled (the mapper, the side pipeline and the `decode` command use it).
    public static func fallbackKey(itemid: UInt64) -> String { "itemid:\(itemid)" }

    /// Roughly what holding this value costs in memory (its structure plus its strings), charged
    /// to the side pipeline's byte budget (`decode.queue_bytes`) while the value waits for the
    /// server's reply.
    var estimatedBytes: Int {
        MemoryLayout<DecodedValue>.stride + self.value.value.utf8.count + (self.value.key?.utf8.count ?? 0)
            + (self.value.host?.utf8.count ?? 0)
            + (self.value.source?.utf8.count ?? 0)
    }
}

/// Receives decoded values from the side pipeline, on one of its worker threads.
///
/// Must not block: hand values on (the Riemann client's queue never blocks) or drop them.
public protocol ItemValueSink: Sendable {
    func consume(_ values: [DecodedValue])
}
