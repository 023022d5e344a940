/// The values of every metric at one scrape, grouped into families by name.
///
/// Sources add samples with ``counter(_:help:labels:value:)``, ``gauge(_:help:labels:value:)``
/// and ``histogram(_:help:labels:_:)``; samples with the same name join one family, so several
/// listeners can each add their `zabbix_tee_connections_active` sample. The first call for a name
/// fixes its type and help text. Families keep the order in which they were first added.
public struct MetricsSnapshot: Sendable {
    /// The Prometheus metric type of a family.
    public enum MetricType: String, Sendable, Hashable {
        case counter
        case gauge
        case histogram
    }

    /// A label name and value, e.g. `listener="agents"`.
    public struct Label: Sendable, Hashable {
        public var name: String
        public var value: String

        public init(_ name: String, _ value: String) {
            self.name = name
            self.value = value
        }
    }

    /// Cumulative bucket counts, sum and count of a histogram sample.
    public struct HistogramValue: Sendable, Equatable {
        /// Upper bounds, ascending, without `+Inf`.
        public var upperBounds: [Double]
        /// Cumulative counts: one per upper bound, then the `+Inf` bucket (which equals ``count``).
        public var cumulativeCounts: [UInt64]
        public var sum: Double
        public var count: UInt64 { self.cumulativeCounts.last ?? 0 }

        /// Expects one cumulative count per upper bound, then the `+Inf` one. A source that gives
        /// another number still makes a well-formed histogram rather than stopping the process:
        /// extra counts are dropped and missing ones repeat the last (cumulative counts never fall).
        public init(upperBounds: [Double], cumulativeCounts: [UInt64], sum: Double) {
            let wanted = upperBounds.count + 1
            var counts = Array(cumulativeCounts.prefix(wanted))
            let last = counts.last ?? 0
            while counts.count < wanted { counts.append(last) }
            self.upperBounds = upperBounds
            self.cumulativeCounts = counts
            self.sum = sum
        }
    }

    /// One sample's value: a number for counters and gauges, buckets for histograms.
    public enum Value: Sendable, Equatable {
        case number(Double)
        case histogram(HistogramValue)
    }

    /// One labelled series of a family.
    public struct Sample: Sendable, Equatable {
        public var labels: [Label]
        public var value: Value
    }

    /// All samples sharing one metric name.
    public struct Family: Sendable {
        public var name: String
        public var help: String
        public var type: MetricType
        public var samples: [Sample]
    }

    public private(set) var families: [Family] = []
    private var indexByName: [String: Int] = [:]

    public init() {}

    /// Adds a counter sample. `name` should end in `_total`; `value` must never decrease while
    /// the process lives (read it from a monotonic total at scrape time).
    public mutating func counter(_ name: String, help: String, labels: [Label] = [], value: Double) {
        self.add(name, help: help, type: .counter, Sample(labels: labels, value: .number(value)))
    }

    /// Adds a counter sample from an integer total.
    public mutating func counter<T: BinaryInteger>(_ name: String, help: String, labels: [Label] = [], value: T) {
        self.counter(name, help: help, labels: labels, value: Double(value))
    }

    /// Adds a gauge sample.
    public mutating func gauge(_ name: String, help: String, labels: [Label] = [], value: Double) {
        self.add(name, help: help, type: .gauge, Sample(labels: labels, value: .number(value)))
    }

    /// Adds a gauge sample from an integer.
    public mutating func gauge<T: BinaryInteger>(_ name: String, help: String, labels: [Label] = [], value: T) {
        self.gauge(name, help: help, labels: labels, value: Double(value))
    }

    /// Adds a histogram sample; `name` is the base name (`_bucket`, `_sum`, `_count` are added).
    public mutating func histogram(_ name: String, help: String, labels: [Label] = [], _ value: HistogramValue) {
        self.add(name, help: help, type: .histogram, Sample(labels: labels, value: .histogram(value)))
    }

    /// The family called `name`, if any sample was added for it.
    public func family(_ name: String) -> Family? {
        self.indexByName[name].map { self.families[$0] }
    }

    private mutating func add(_ name: String, help: String, type: MetricType, _ sample: Sample) {
        assert(MetricName.isValid(name), "invalid metric name \(name)")
        assert(sample.labels.allSatisfy { MetricName.isValidLabel($0.name) }, "invalid label name in \(name)")
        if let index = self.indexByName[name] {
            // A type clash is a programming error in a source; keep the output parseable by
            // dropping the sample rather than emitting a family with mixed types.
            guard self.families[index].type == type else {
                assertionFailure("metric \(name) added as \(type) and \(self.families[index].type)")
                return
            }
            self.families[index].samples.append(sample)
        } else {
            self.indexByName[name] = self.families.count
            self.families.append(Family(name: name, help: help, type: type, samples: [sample]))
        }
    }
}

/// Prometheus name rules.
enum MetricName {
    /// `[a-zA-Z_:][a-zA-Z0-9_:]*`
    static func isValid(_ name: String) -> Bool {
        guard let first = name.utf8.first, isLetter(first) || first == UInt8(ascii: "_") || first == UInt8(ascii: ":")
        else { return false }
        return name.utf8.allSatisfy {
            isLetter($0) || isDigit($0) || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: ":")
        }
    }

    /// `[a-zA-Z_][a-zA-Z0-9_]*`, not starting with `__` (reserved).
    static func isValidLabel(_ name: String) -> Bool {
        guard let first = name.utf8.first, isLetter(first) || first == UInt8(ascii: "_"), !name.hasPrefix("__")
        else { return false }
        return name.utf8.allSatisfy { isLetter($0) || isDigit($0) || $0 == UInt8(ascii: "_") }
    }

    private static func isLetter(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
    }

    private static func isDigit(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
    }
}
