import NIOCore

/// Graphite's plaintext protocol: `path value timestamp\n` per metric, as carbon reads it on its
/// line receiver (port 2003).
public enum GraphitePlaintext {
    /// Appends one line per event that has a metric: the `service` as path, the metric, and
    /// `time` in whole seconds. Events without a metric have no line. Carbon splits lines on
    /// whitespace, so whitespace and control characters left in a path (by a template without
    /// `|graphite`) are written as `_`; an empty path is written as `_` too.
    public static func encode<Events: Sequence<RiemannEvent>>(_ events: Events, into buffer: inout ByteBuffer) {
        for event in events {
            guard let metric = event.metric else { continue }
            let path = event.service ?? ""
            if path.isEmpty { buffer.writeInteger(UInt8(ascii: "_")) }
            for byte in path.utf8 {
                buffer.writeInteger(byte <= 0x20 || byte == 0x7F ? UInt8(ascii: "_") : byte)
            }
            buffer.writeInteger(UInt8(ascii: " "))
            switch metric {
            case .sint64(let value): buffer.writeString(String(value))
            case .double(let value): buffer.writeString(Self.text(value))
            case .float(let value): buffer.writeString(Self.text(Double(value)))
            }
            buffer.writeInteger(UInt8(ascii: " "))
            buffer.writeString(String(event.time ?? 0))
            buffer.writeInteger(UInt8(ascii: "\n"))
        }
    }

    /// A double as carbon's `float()` reads it: Swift's shortest round-trip form (`0.5`, `1e-05`);
    /// infinities and NaN, which the mapping never makes, as Python spells them.
    static func text(_ value: Double) -> String {
        if value.isNaN { return "nan" }
        if value.isInfinite { return value < 0 ? "-inf" : "inf" }
        return "\(value)"
    }
}
