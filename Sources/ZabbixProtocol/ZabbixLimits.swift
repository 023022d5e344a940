/// The lengths Zabbix itself allows, which the decoders hold values to.
///
/// The server reads a host name or item key into a fixed buffer and rejects the row when it does
/// not fit (`zbx_json_value_by_name` fails, the value counts as `failed`); the frontend and the
/// database never store longer ones. So a row whose host or key is longer names nothing Zabbix
/// knows: it is dropped (and counted), never cut, as an event for it would not mean "Zabbix stored
/// this value".
public enum ZabbixLimits {
    /// `hosts.host`: 128 characters (`HOST_HOST_LEN`).
    public static let maximumHostLength = 128
    /// `items.key_`: 2048 characters (`ITEM_KEY_LEN`).
    public static let maximumKeyLength = 2048
    /// Agent and proxy sessions are 32 hex digits; longer strings are not sessions and are not
    /// remembered (the duplicate filter keeps up to 100 000 of them).
    public static let maximumSessionLength = 64
}

/// Rows (and passive check keys) read but not kept, by reason.
public struct DroppedRows: Sendable, Hashable {
    /// Nothing usable: no `value`, `itemid` or `key` (or not an object at all).
    public var unusable = 0
    /// The host is longer than ``ZabbixLimits/maximumHostLength`` characters.
    public var hostTooLong = 0
    /// The key is longer than ``ZabbixLimits/maximumKeyLength`` characters.
    public var keyTooLong = 0

    public init(unusable: Int = 0, hostTooLong: Int = 0, keyTooLong: Int = 0) {
        self.unusable = unusable
        self.hostTooLong = hostTooLong
        self.keyTooLong = keyTooLong
    }

    public var total: Int { self.unusable + self.hostTooLong + self.keyTooLong }

    static func += (lhs: inout DroppedRows, rhs: DroppedRows) {
        lhs.unusable += rhs.unusable
        lhs.hostTooLong += rhs.hostTooLong
        lhs.keyTooLong += rhs.keyTooLong
    }
}
