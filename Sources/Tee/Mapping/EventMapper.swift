import Riemann
import ZabbixProtocol

/// Turns decoded Zabbix item values into Riemann events, per ``MappingConfiguration``.
public struct EventMapper: Sendable {
    public let configuration: MappingConfiguration

    public init(configuration: MappingConfiguration) {
        self.configuration = configuration
    }

    /// Why a value produced no event.
    public enum Skip: Sendable, Hashable {
        case filtered
        case notSupported
        /// From a batch the server only partly accepted, with `mapping.partial: drop`.
        case partialBatch
    }

    public func event(for decoded: DecodedValue) -> Result<RiemannEvent, SkipReason> {
        let value = decoded.value
        let configuration = self.configuration
        if decoded.batchFailed != nil, configuration.partial == .drop { return .failure(SkipReason(.partialBatch)) }
        let host = value.host ?? ""
        let key = value.key ?? value.itemid.map(DecodedValue.fallbackKey(itemid:)) ?? ""
        if !configuration.include.isEmpty, !configuration.include.matches(host: host, key: key) {
            return .failure(SkipReason(.filtered))
        }
        if !configuration.exclude.isEmpty, configuration.exclude.matches(host: host, key: key) {
            return .failure(SkipReason(.filtered))
        }

        var event = RiemannEvent()
        event.host = host
        event.service = configuration.service.render(
            key: key, host: host, itemid: value.itemid, listener: decoded.listener, request: value.requestType.rawValue)
        if let clock = value.clock {
            event.time = clock
            event.timeMicros = clock &* 1_000_000 &+ (value.ns ?? 0) / 1000
        } else {
            event.time = decoded.seenAtMicros / 1_000_000
            event.timeMicros = decoded.seenAtMicros
        }
        switch value.state {
        case .normal:
            event.state = configuration.state
            switch ZabbixValueParsing.numeric(value.value, valueType: decoded.valueType) {
            case .integer(let integer): event.metric = .sint64(integer)
            case .double(let double): event.metric = .double(double)
            case nil:
                event.description = ZabbixValueParsing.truncated(value.value, maximumBytes: configuration.descriptionMaximumLength)
            }
        case .notSupported:
            switch configuration.notSupported {
            case .drop: return .failure(SkipReason(.notSupported))
            case .state(let state): event.state = state
            }
            event.description = ZabbixValueParsing.truncated(value.value, maximumBytes: configuration.descriptionMaximumLength)
        }
        event.tags = configuration.tags
        event.ttl = configuration.ttl
        // One allocation: the configured attributes plus every zabbix_* one a value can have.
        var attributes: [RiemannAttribute] = []
        attributes.reserveCapacity(configuration.attributes.count + (configuration.zabbixAttributes ? 11 : 0))
        for attribute in configuration.attributes {
            attributes.append(RiemannAttribute(key: attribute.key, value: attribute.value))
        }
        if configuration.zabbixAttributes {
            attributes.append(RiemannAttribute(key: "zabbix_request", value: value.requestType.rawValue))
            attributes.append(RiemannAttribute(key: "zabbix_listener", value: decoded.listener))
            if let itemid = value.itemid { attributes.append(RiemannAttribute(key: "zabbix_itemid", value: String(itemid))) }
            if let proxy = value.proxy { attributes.append(RiemannAttribute(key: "zabbix_proxy", value: proxy)) }
            if let failed = decoded.batchFailed {
                attributes.append(RiemannAttribute(key: "zabbix_batch_failed", value: String(failed)))
            }
            if let number = value.lastlogsize { attributes.append(RiemannAttribute(key: "zabbix_lastlogsize", value: String(number))) }
            if let number = value.mtime { attributes.append(RiemannAttribute(key: "zabbix_mtime", value: String(number))) }
            if let number = value.timestamp { attributes.append(RiemannAttribute(key: "zabbix_log_timestamp", value: String(number))) }
            if let source = value.source { attributes.append(RiemannAttribute(key: "zabbix_log_source", value: source)) }
            if let number = value.severity { attributes.append(RiemannAttribute(key: "zabbix_log_severity", value: String(number))) }
            if let number = value.eventid { attributes.append(RiemannAttribute(key: "zabbix_log_eventid", value: String(number))) }
        }
        event.attributes = attributes
        return .success(event)
    }

    /// A value that produced no event, and why.
    public struct SkipReason: Error, Sendable, Hashable {
        public var reason: Skip
        init(_ reason: Skip) { self.reason = reason }
    }
}
