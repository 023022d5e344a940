import ZabbixProtocol

/// How item values become Riemann events (`mapping:` in config.yaml).
public struct MappingConfiguration: Sendable {
    /// What to do with a not-supported item (`state:1`, `ZBX_NOTSUPPORTED`).
    public enum NotSupported: Sendable, Hashable {
        /// Emit an event with this state and the error as description.
        case state(String)
        /// Drop it (counted).
        case drop
    }

    /// What to do with values of a batch the server only partly accepted (`processed: N; failed: M`,
    /// both above 0): Zabbix does not say which rows it refused.
    public enum PartialBatch: String, Sendable, Hashable, CaseIterable {
        /// Emit every value of the batch, each with attribute `zabbix_batch_failed: M`.
        case emit
        /// Emit none of them (counted as rejected, reason `partial_batch`).
        case drop
    }

    /// The event's service: `{key}`, `{host}`, `{itemid}`, `{listener}`, `{request}` are replaced.
    public var service: ServiceTemplate = ServiceTemplate("{key}")
    /// State of events for normal values (`nil`: no state).
    public var state: String? = "ok"
    public var notSupported: NotSupported = .state("critical")
    public var partial: PartialBatch = .emit
    public var tags: [String] = ["zabbix"]
    /// Attributes added to every event, in order.
    public var attributes: [(key: String, value: String)] = []
    /// Add `zabbix_request`, `zabbix_listener`, `zabbix_itemid`, `zabbix_proxy` and the log fields.
    public var zabbixAttributes: Bool = true
    /// Event time to live, seconds (`nil`: none, Riemann's default applies). With
    /// ``ttlIntervalMultiple`` set, the TTL of values whose update interval is unknown.
    public var ttl: Float? = 300
    /// `ttl: auto`: each event's TTL is this many times its item's update interval (the base delay,
    /// see ``ZabbixUpdateInterval``), so Riemann expires an item that stopped arriving after it
    /// missed this many updates; ``ttl`` where the interval is unknown. `nil`: ``ttl`` for all.
    public var ttlIntervalMultiple: Double? = nil

    /// The TTL of an event for an item collected every `delay`, per ``ttl`` and ``ttlIntervalMultiple``.
    public func ttl(delay: ZabbixUpdateInterval?) -> Float? {
        guard let multiple = self.ttlIntervalMultiple, let seconds = delay?.baseSeconds else { return self.ttl }
        return Float(Double(seconds) * multiple)
    }
    /// Text values and errors longer than this are cut (UTF-8 safe) for `description`.
    public var descriptionMaximumLength: Int = 4096

    // What a value can make an event hold is bounded whatever the traffic carries (the decoder
    // cuts or drops such rows too; this is the last line of defence, at the event).

    /// `host` is cut to this many characters: Zabbix's host name length (`HOST_HOST_LEN`), so a
    /// host Zabbix can store is never cut.
    public static let hostMaximumCharacters = 128
    /// The item key is cut to this many characters before it fills the service template:
    /// Zabbix's key length (`ITEM_KEY_LEN`).
    public static let keyMaximumCharacters = 2048
    /// The rendered `service` is cut to this many bytes (UTF-8 safe): room for a whole key of
    /// 2 048 four-byte characters and a host, with whatever text the template adds.
    public static let serviceMaximumBytes = 16 << 10
    /// Attribute values taken from the traffic (`zabbix_proxy`, `zabbix_log_source`) are cut to
    /// this many bytes (UTF-8 safe); Zabbix stores a proxy name in 128 characters and a log
    /// source in 64.
    public static let attributeValueMaximumBytes = 1024
    /// Only values matching these are emitted (empty: all).
    public var include: ValueFilter = ValueFilter()
    /// Values matching these are not emitted.
    public var exclude: ValueFilter = ValueFilter()

    public init() {}
}

/// Host and key patterns; a value matches when its host matches one of `hosts` (or `hosts` is
/// empty) and its key matches one of `keys` (or `keys` is empty). An empty filter matches
/// nothing when used for `exclude` and everything for `include` (see ``isEmpty``).
public struct ValueFilter: Sendable {
    public var hosts: [Pattern] = []
    public var keys: [Pattern] = []

    public init(hosts: [Pattern] = [], keys: [Pattern] = []) {
        self.hosts = hosts
        self.keys = keys
    }

    public var isEmpty: Bool { self.hosts.isEmpty && self.keys.isEmpty }

    func matches(host: String?, key: String?) -> Bool {
        let hostMatches = self.hosts.isEmpty || self.hosts.contains { $0.matches(host ?? "") }
        let keyMatches = self.keys.isEmpty || self.keys.contains { $0.matches(key ?? "") }
        return hostMatches && keyMatches
    }
}
