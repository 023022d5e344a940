/// Typed member access used by the message decoders. Every accessor accepts both JSON numbers and
/// strings where Zabbix does (its parser reads any scalar as text).
extension JSONObject {
    /// A scalar member as text (string contents or number literal); `nil` when absent, `null`,
    /// an array or an object.
    @inlinable
    func text(_ key: String) -> String? { self[key]?.scalarText }

    /// A member that must be a string to be meaningful (names, keys, sessions).
    @inlinable
    func string(_ key: String) -> String? { self[key]?.scalarText }

    @inlinable
    func uint64(_ key: String) -> UInt64? { self[key]?.uint64 }

    @inlinable
    func int64(_ key: String) -> Int64? { self[key]?.int64 }

    /// An array member's object elements (non-objects are passed over).
    @inlinable
    func objects(_ key: String) -> [JSONObject]? {
        guard let array = self[key]?.array else { return nil }
        return array.compactMap(\.object)
    }
}
