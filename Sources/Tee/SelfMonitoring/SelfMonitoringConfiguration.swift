#if canImport(Glibc)
import Glibc
#endif

/// The tee's own key figures as Riemann events (`riemann.self_monitoring:`); off when absent.
public struct SelfMonitoringConfiguration: Sendable, Hashable {
    /// How often the figures are sent (key `interval`, default 10 s).
    public var interval: Duration = .seconds(10)
    /// The events' host (key `host`, default this machine's host name).
    public var host: String = SelfMonitoringConfiguration.hostName
    /// Put in front of every service name, followed by a space (key `service_prefix`, default
    /// `zabbix-tee`).
    public var servicePrefix: String = "zabbix-tee"
    /// Event TTL in seconds (key `ttl`, default three intervals; `nil`: none).
    public var ttl: Float?
    /// Tags of every event (key `tags`, default `[zabbix-tee]`).
    public var tags: [String] = ["zabbix-tee"]

    public init() {
        self.ttl = Self.defaultTTL(interval: .seconds(10))
    }

    /// The default TTL for an interval: three intervals, so one lost tick does not expire them.
    public static func defaultTTL(interval: Duration) -> Float {
        let (seconds, attoseconds) = interval.components
        return Float(3 * (Double(seconds) + Double(attoseconds) / 1e18))
    }

    /// This machine's host name (`gethostname`), or `localhost`.
    public static var hostName: String {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count - 1) == 0 else { return "localhost" }
        let name = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return name.isEmpty ? "localhost" : name
    }
}
