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

    // Inlined into the sink's loop, its one hot caller: measured about 0.4k instructions fewer
    // per value (`Benchmarks/instructions.sh`), in passing the value and the result across the call.
    @inline(__always)
    public func event(for decoded: DecodedValue) -> Result<RiemannEvent, SkipReason> {
        // The value's fields are read where they are (`decoded.value.x`), not through a copy of
        // the whole value, and the event is built once at the end, not field by field.
        let configuration = self.configuration
        if decoded.batchFailed != nil, configuration.partial == .drop { return .failure(SkipReason(.partialBatch)) }
        let (host, key) = Self.hostAndKey(of: decoded)
        if !configuration.include.isEmpty, !configuration.include.matches(host: host, key: key) {
            return .failure(SkipReason(.filtered))
        }
        if !configuration.exclude.isEmpty, configuration.exclude.matches(host: host, key: key) {
            return .failure(SkipReason(.filtered))
        }

        let time: Int64
        let timeMicros: Int64
        if let clock = decoded.value.clock {
            time = clock
            timeMicros = clock &* 1_000_000 &+ (decoded.value.ns ?? 0) / 1000
        } else {
            time = decoded.seenAtMicros / 1_000_000
            timeMicros = decoded.seenAtMicros
        }
        let state: String?
        var metric: RiemannMetric? = nil
        var description: String? = nil
        switch decoded.value.state {
        case .normal:
            state = configuration.state
            switch ZabbixValueParsing.numeric(decoded.value.value, valueType: decoded.valueType) {
            case .integer(let integer): metric = .sint64(integer)
            case .double(let double): metric = .double(double)
            case nil:
                description = ZabbixValueParsing.truncated(
                    decoded.value.value,
                    maximumBytes: configuration.descriptionMaximumLength
                )
            }
        case .notSupported:
            switch configuration.notSupported {
            case .drop: return .failure(SkipReason(.notSupported))
            case .state(let notSupported): state = notSupported
            }
            description = ZabbixValueParsing.truncated(
                decoded.value.value,
                maximumBytes: configuration.descriptionMaximumLength
            )
        }
        return .success(
            RiemannEvent(
                time: time,
                timeMicros: timeMicros,
                state: state,
                service: Self.render(configuration.service, decoded, host: host, key: key),
                host: host,
                description: description,
                tags: configuration.tags,
                ttl: configuration.ttl(delay: decoded.delay),
                attributes: Self.attributes(of: decoded, configuration),
                metric: metric
            )
        )
    }

    /// The configured attributes, then the `zabbix_*` ones `decoded` has (with
    /// `mapping.zabbix_attributes`), in one allocation.
    private static func attributes(
        of decoded: DecodedValue,
        _ configuration: MappingConfiguration
    ) -> [RiemannAttribute] {
        var attributes: [RiemannAttribute] = []
        attributes.reserveCapacity(configuration.attributes.count + (configuration.zabbixAttributes ? 11 : 0))
        for attribute in configuration.attributes {
            attributes.append(RiemannAttribute(key: attribute.key, value: attribute.value))
        }
        guard configuration.zabbixAttributes else { return attributes }
        func add(_ key: String, _ text: String?) {
            if let text { attributes.append(RiemannAttribute(key: key, value: text)) }
        }
        add("zabbix_request", decoded.value.requestType.rawValue)
        add("zabbix_listener", decoded.listener)
        add("zabbix_itemid", decoded.value.itemid.map { String($0) })
        add("zabbix_proxy", decoded.value.proxy.map(Self.cut))
        add("zabbix_batch_failed", decoded.batchFailed.map { String($0) })
        add("zabbix_lastlogsize", decoded.value.lastlogsize.map { String($0) })
        add("zabbix_mtime", decoded.value.mtime.map { String($0) })
        add("zabbix_log_timestamp", decoded.value.timestamp.map { String($0) })
        add("zabbix_log_source", decoded.value.source.map(Self.cut))
        add("zabbix_log_severity", decoded.value.severity.map { String($0) })
        add("zabbix_log_eventid", decoded.value.eventid.map { String($0) })
        return attributes
    }

    /// The value's host and key as events carry them. Cut first: filters, template and event then
    /// cost what a legitimate value costs. The host is the value's own (passive checks got the
    /// agent's address when decoded).
    private static func hostAndKey(of decoded: DecodedValue) -> (host: String, key: String) {
        let value = decoded.value
        let host = ZabbixValueParsing.truncated(
            value.host ?? "",
            maximumCharacters: MappingConfiguration.hostMaximumCharacters
        )
        let key = ZabbixValueParsing.truncated(
            value.key ?? value.itemid.map(DecodedValue.fallbackKey(itemid:)) ?? "",
            maximumCharacters: MappingConfiguration.keyMaximumCharacters
        )
        return (host, key)
    }

    private static func render(
        _ template: ServiceTemplate,
        _ decoded: DecodedValue,
        host: String,
        key: String
    ) -> String {
        ZabbixValueParsing.truncated(
            template.render(
                key: key,
                host: host,
                itemid: decoded.value.itemid,
                listener: decoded.listener,
                request: decoded.value.requestType.rawValue
            ),
            maximumBytes: MappingConfiguration.serviceMaximumBytes
        )
    }

    /// `template` filled in for `decoded` as ``MappingConfiguration/service`` is (same cuts): the
    /// Graphite output's path.
    public static func render(_ template: ServiceTemplate, for decoded: DecodedValue) -> String {
        let (host, key) = Self.hostAndKey(of: decoded)
        return Self.render(template, decoded, host: host, key: key)
    }

    /// An attribute value from the traffic, cut to ``MappingConfiguration/attributeValueMaximumBytes``.
    private static func cut(_ value: String) -> String {
        ZabbixValueParsing.truncated(value, maximumBytes: MappingConfiguration.attributeValueMaximumBytes)
    }

    /// A value that produced no event, and why.
    public struct SkipReason: Error, Sendable, Hashable {
        public var reason: Skip
        init(_ reason: Skip) { self.reason = reason }
    }
}

extension MappingConfiguration {
    /// An upper bound of the encoded size of any event these settings make (see
    /// ``RiemannEvent/encodedSizeInMessage``): every field at the most the mapping lets through —
    /// host, service, description at their cuts, both metric and time fields at their widest, the
    /// configured tags and attributes, and a dozen `zabbix_*` attributes with values at their cut.
    /// The configuration check compares it with `riemann.batch.max_bytes`, so that no value can
    /// make an event too large to send.
    public var largestEventBytes: Int {
        func text(bytes: Int) -> String { String(repeating: "x", count: max(bytes, 0)) }
        var attributes = self.attributes.map { RiemannAttribute(key: $0.key, value: $0.value) }
        if self.zabbixAttributes {
            let longest = RiemannAttribute(key: text(bytes: 32), value: text(bytes: Self.attributeValueMaximumBytes))
            attributes += Array(repeating: longest, count: 12)
        }
        var states = [self.state ?? ""]
        if case .state(let state) = self.notSupported { states.append(state) }
        let event = RiemannEvent(
            time: .min,
            timeMicros: .min,
            state: states.max { $0.utf8.count < $1.utf8.count },
            service: text(bytes: Self.serviceMaximumBytes),
            host: text(bytes: Self.hostMaximumCharacters * 4),
            description: text(bytes: self.descriptionMaximumLength),
            tags: self.tags,
            ttl: self.ttl ?? self.ttlIntervalMultiple.map { _ in 1 },
            attributes: attributes,
            metric: .sint64(.min)
        )
        return event.encodedSizeInMessage
    }
}
