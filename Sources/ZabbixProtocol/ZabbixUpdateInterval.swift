/// An item's update interval as Zabbix writes it (`items.delay`): `30`, `30s`, `5m`, `1h`, `1d`,
/// `1w`, a user macro `{$DELAY}`, or a base delay followed by custom intervals
/// (`50s;wd1-5,9:00-18:00`, `0;md1;h9`).
///
/// Only the base delay (the part before the first `;`) is read: it is how often Zabbix collects
/// the item outside the flexible periods, and the one figure the interval always states. It is
/// unknown (`nil`) when the text is a macro (the server sends active checks expanded, but a proxy
/// configuration carries the item's own text and the tee does not resolve macros), when it is 0
/// (trapper items and items collected only on a schedule), or when it is not an interval at all.
public struct ZabbixUpdateInterval: Sendable, Hashable, CustomStringConvertible {
    /// The item's `delay` text, as the server or proxy sent it, at most ``maximumTextLength``
    /// characters (`ITEM_DELAY_LEN`; longer texts are not kept).
    public let text: String

    /// `items.delay` holds at most 1024 characters (`ITEM_DELAY_LEN`).
    public static let maximumTextLength = 1024

    /// `nil` when `text` is longer than ``maximumTextLength`` characters.
    public init?(_ text: String) {
        guard text.unicodeScalars.count <= Self.maximumTextLength else { return nil }
        self.text = text
    }

    /// An interval in whole seconds, as agents older than 4.4 are told it (0 for flexible intervals).
    public init(seconds: Int64) {
        self.text = String(seconds)
    }

    public var description: String { self.text }

    /// The base delay in seconds, or `nil` when unknown (see the type's documentation).
    public var baseSeconds: Int64? {
        Self.seconds(of: self.text.split(separator: ";", maxSplits: 1, omittingEmptySubsequences: false).first ?? "")
    }

    /// Seconds of one time value with an optional suffix `s`, `m`, `h`, `d`, `w`; `nil` for 0,
    /// macros, overflow and anything else.
    static func seconds(of text: Substring) -> Int64? {
        var bytes = Array(text.utf8)
        while bytes.last == 0x20 { bytes.removeLast() }
        while bytes.first == 0x20 { bytes.removeFirst() }
        let multiplier: Int64
        switch bytes.last {
        case UInt8(ascii: "s"): multiplier = 1
        case UInt8(ascii: "m"): multiplier = 60
        case UInt8(ascii: "h"): multiplier = 3600
        case UInt8(ascii: "d"): multiplier = 86_400
        case UInt8(ascii: "w"): multiplier = 604_800
        default: multiplier = 0
        }
        if multiplier != 0 { bytes.removeLast() }
        guard !bytes.isEmpty, bytes.count <= 18, bytes.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return nil }
        let value = bytes.reduce(Int64(0)) { $0 * 10 + Int64($1 - 0x30) }
        let (seconds, overflow) = value.multipliedReportingOverflow(by: max(multiplier, 1))
        guard !overflow, seconds > 0 else { return nil }
        return seconds
    }
}
