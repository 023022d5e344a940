/// One collected ``MetricsSnapshot`` and its rates, looked up by metric name the way the status
/// page needs: the page holds no figures of its own, so it cannot disagree with `/metrics`.
///
/// Lookups remember which families were shown, so that the page can list every family nobody
/// laid out (new metrics appear on the page without a change to it).
struct StatusPageData {
    let snapshot: MetricsSnapshot
    let rates: RateTracker.Rates
    /// Wall-clock seconds since the epoch at collection.
    let now: Double
    private(set) var shown: Set<String> = []

    init(snapshot: MetricsSnapshot, rates: RateTracker.Rates, now: Double) {
        self.snapshot = snapshot
        self.rates = rates
        self.now = now
    }

    /// The family called `name`, marked as shown.
    mutating func family(_ name: String) -> MetricsSnapshot.Family? {
        guard let family = self.snapshot.family(name) else { return nil }
        self.shown.insert(name)
        return family
    }

    /// The samples of `name` whose labels include every pair of `labels`.
    mutating func samples(_ name: String, where labels: [String: String] = [:]) -> [MetricsSnapshot.Sample] {
        guard let family = self.family(name) else { return [] }
        return family.samples.filter { sample in
            labels.allSatisfy { wanted in sample.labels.contains { $0.name == wanted.key && $0.value == wanted.value } }
        }
    }

    /// The first sample of `name` whose labels include `labels`.
    mutating func sample(_ name: String, where labels: [String: String] = [:]) -> MetricsSnapshot.Sample? {
        self.samples(name, where: labels).first
    }

    /// The sum of the samples of `name` (with `labels`); `nil` when the family is absent.
    mutating func total(_ name: String, where labels: [String: String] = [:]) -> Double? {
        guard self.snapshot.family(name) != nil else { return nil }
        return self.samples(name, where: labels).reduce(0) { $0 + (Self.number($1) ?? 0) }
    }

    /// The summed rate of the samples of counter `name` (with `labels`); `nil` before rates exist.
    mutating func rate(_ name: String, where labels: [String: String] = [:]) -> Double? {
        let samples = self.samples(name, where: labels)
        let rates = samples.compactMap { self.rate(of: name, $0) }
        return rates.isEmpty ? nil : rates.reduce(0, +)
    }

    /// The rate of one counter sample (of a histogram's count for histograms).
    func rate(of name: String, _ sample: MetricsSnapshot.Sample) -> Double? {
        switch sample.value {
        case .number: return self.rates.perSecond[PrometheusTextWriter.series(name, sample.labels)]
        case .histogram: return self.rates.perSecond[PrometheusTextWriter.series(name + "_count", sample.labels)]
        }
    }

    /// The distinct values of label `label` over the samples of `names`, in order of appearance.
    mutating func labelValues(_ label: String, in names: [String]) -> [String] {
        var seen: Set<String> = []
        var values: [String] = []
        for name in names {
            for sample in self.samples(name) {
                guard let value = sample.labels.first(where: { $0.name == label })?.value, seen.insert(value).inserted
                else { continue }
                values.append(value)
            }
        }
        return values
    }

    /// The families no lookup has shown yet, in snapshot order.
    var unshownFamilies: [MetricsSnapshot.Family] {
        self.snapshot.families.filter { !self.shown.contains($0.name) }
    }

    mutating func markShown(_ name: String) {
        self.shown.insert(name)
    }

    static func number(_ sample: MetricsSnapshot.Sample) -> Double? {
        if case .number(let value) = sample.value { return value }
        return nil
    }

    static func label(_ name: String, of sample: MetricsSnapshot.Sample) -> String? {
        sample.labels.first { $0.name == name }?.value
    }
}
