/// Per-second rates of the counters of two collections, for the status page.
///
/// Counters are totals read at collection time, so a rate needs two readings. The tracker keeps
/// the previous reading and is fed each time the page is rendered: the rates shown are averages
/// over the time since the page was last rendered (the browser's refresh interval when one
/// operator watches). Renders less than ``minimumInterval`` apart reuse the last rates instead of
/// dividing a tiny delta by a tiny interval, so several viewers cannot make the figures jumpy.
/// The first render has no rates. A series that is new or went down (a listener removed and
/// added again by a reload) has none until the next reading.
///
/// A pure value: the caller supplies the clock reading.
struct RateTracker: Sendable {
    /// The rates of one update.
    struct Rates: Sendable {
        /// Per-second increase by series (``PrometheusTextWriter/series(_:_:)`` of the counter,
        /// or of a histogram's `_count`).
        var perSecond: [String: Double] = [:]
        /// How long the rates were averaged over; `nil` before the second reading.
        var interval: Duration?

        static let none = Rates()
    }

    private struct Reading {
        var at: ContinuousClock.Instant
        var totals: [String: Double]
    }

    /// Readings closer together than this do not replace the previous one.
    let minimumInterval: Duration
    private var previous: Reading?
    private var last = Rates.none

    init(minimumInterval: Duration = .seconds(1)) {
        self.minimumInterval = minimumInterval
    }

    /// Records `snapshot` as read at `now` and returns the rates since the previous reading.
    mutating func update(with snapshot: MetricsSnapshot, now: ContinuousClock.Instant) -> Rates {
        let totals = Self.totals(of: snapshot)
        guard let previous = self.previous else {
            self.previous = Reading(at: now, totals: totals)
            return .none
        }
        let elapsed = now - previous.at
        guard elapsed >= self.minimumInterval else { return self.last }
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        var rates = Rates(interval: elapsed)
        for (series, total) in totals {
            guard let before = previous.totals[series], total >= before else { continue }
            rates.perSecond[series] = (total - before) / seconds
        }
        self.previous = Reading(at: now, totals: totals)
        self.last = rates
        return rates
    }

    /// Every counter's total, and every histogram's count, by series.
    private static func totals(of snapshot: MetricsSnapshot) -> [String: Double] {
        var totals: [String: Double] = [:]
        for family in snapshot.families {
            for sample in family.samples {
                switch (family.type, sample.value) {
                case (.counter, .number(let value)):
                    totals[PrometheusTextWriter.series(family.name, sample.labels)] = value
                case (.histogram, .histogram(let histogram)):
                    totals[PrometheusTextWriter.series(family.name + "_count", sample.labels)] = Double(histogram.count)
                default:
                    break
                }
            }
        }
        return totals
    }
}
