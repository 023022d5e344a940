/// Text for the status page: HTML escaping and the number, byte, duration and date forms an
/// operator reads at a glance. Pure functions, no Foundation, no locale.
enum StatusPageFormat {
    /// `text` safe inside an element or a double- or single-quoted attribute: `& < > " '` become
    /// entities. Everything from the configuration (listener names, addresses, label values) and
    /// from metrics passes through here.
    static func escape(_ text: String) -> String {
        guard text.utf8.contains(where: { $0 == 0x26 || $0 == 0x3C || $0 == 0x3E || $0 == 0x22 || $0 == 0x27 }) else {
            return text
        }
        var escaped = ""
        escaped.reserveCapacity(text.utf8.count + 16)
        for character in text {
            switch character {
            case "&": escaped += "&amp;"
            case "<": escaped += "&lt;"
            case ">": escaped += "&gt;"
            case "\"": escaped += "&quot;"
            case "'": escaped += "&#39;"
            default: escaped.append(character)
            }
        }
        return escaped
    }

    /// A count: whole numbers in full with thin spaces between thousands (`1 234 567`), others
    /// with up to three decimals; `+Inf`, `-Inf`, `NaN` as Prometheus spells them.
    static func count(_ value: Double) -> String {
        guard value.isFinite else { return PrometheusTextWriter.format(value) }
        if value == value.rounded(), abs(value) < 1e15 {
            return self.grouped(Int64(value))
        }
        return self.decimal(value, places: abs(value) >= 100 ? 1 : 3)
    }

    /// A rate: `12.3/s`, `0.05/s`, `1 234/s`.
    static func rate(_ perSecond: Double) -> String {
        let places = perSecond >= 100 || perSecond == 0 ? 0 : (perSecond >= 10 ? 1 : 2)
        let text = places == 0 ? self.grouped(Int64(perSecond.rounded())) : self.decimal(perSecond, places: places)
        return text + "/s"
    }

    /// Bytes in IEC units: `512 B`, `1.5 KiB`, `12.0 MiB`.
    static func bytes(_ value: Double) -> String {
        guard value.isFinite else { return PrometheusTextWriter.format(value) }
        let units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"]
        var scaled = value
        var unit = 0
        while abs(scaled) >= 1024, unit < units.count - 1 {
            scaled /= 1024
            unit += 1
        }
        return (unit == 0 ? self.grouped(Int64(scaled)) : self.decimal(scaled, places: 1)) + "\u{00A0}" + units[unit]
    }

    /// A duration in seconds: `850 µs`, `12.5 ms`, `3.2 s`, `4 min 5 s`, `2 h 3 min`, `5 d 2 h`.
    static func duration(_ seconds: Double) -> String {
        guard seconds.isFinite else { return PrometheusTextWriter.format(seconds) }
        if seconds < 0.001 { return self.decimal(seconds * 1e6, places: 0) + "\u{00A0}µs" }
        if seconds < 1 { return self.decimal(seconds * 1e3, places: seconds < 0.01 ? 2 : 1) + "\u{00A0}ms" }
        if seconds < 60 { return self.decimal(seconds, places: 1) + "\u{00A0}s" }
        let whole = Int64(seconds)
        let (days, hours, minutes, secs) = (whole / 86400, whole / 3600 % 24, whole / 60 % 60, whole % 60)
        if days > 0 { return "\(days)\u{00A0}d \(hours)\u{00A0}h" }
        if hours > 0 { return "\(hours)\u{00A0}h \(minutes)\u{00A0}min" }
        return "\(minutes)\u{00A0}min \(secs)\u{00A0}s"
    }

    /// Seconds since the epoch as `2026-12-07 06:48:41Z`.
    static func date(_ secondsSinceEpoch: Double) -> String {
        guard secondsSinceEpoch.isFinite else { return PrometheusTextWriter.format(secondsSinceEpoch) }
        let total = Int64(secondsSinceEpoch.rounded(.down))
        let days = total >= 0 ? total / 86400 : (total - 86399) / 86400
        let secondOfDay = total - days * 86400
        // Howard Hinnant's civil_from_days.
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let shiftedMonth = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * shiftedMonth + 2) / 5 + 1
        let month = shiftedMonth < 10 ? shiftedMonth + 3 : shiftedMonth - 9
        let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
        func two(_ number: Int64) -> String { number < 10 ? "0\(number)" : "\(number)" }
        return
            "\(year)-\(two(month))-\(two(day)) \(two(secondOfDay / 3600)):\(two(secondOfDay / 60 % 60)):\(two(secondOfDay % 60))Z"
    }

    /// `1234567` as `1 234 567` (narrow no-break spaces).
    static func grouped(_ value: Int64) -> String {
        let digits = String(value.magnitude)
        guard digits.count > 4 else { return value < 0 ? "-" + digits : digits }
        var result = ""
        for (index, digit) in digits.enumerated() {
            if index > 0, (digits.count - index) % 3 == 0 { result += "\u{202F}" }
            result.append(digit)
        }
        return value < 0 ? "-" + result : result
    }

    /// `value` rounded to `places` decimals, without exponent notation.
    static func decimal(_ value: Double, places: Int) -> String {
        var scale = 1.0
        for _ in 0..<places { scale *= 10 }
        let scaled = (abs(value) * scale).rounded()
        guard scaled < 1e17 else { return PrometheusTextWriter.format(value) }
        let units = UInt64(scaled)
        let whole = units / UInt64(scale)
        let sign = value < 0 && units > 0 ? "-" : ""
        guard places > 0 else { return sign + self.grouped(Int64(whole)) }
        var fraction = String(units % UInt64(scale))
        while fraction.count < places { fraction = "0" + fraction }
        return sign + self.grouped(Int64(whole)) + "." + fraction
    }
}
