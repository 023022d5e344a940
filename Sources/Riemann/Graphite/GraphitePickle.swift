import NIOCore

/// Graphite's pickle protocol, as carbon reads it on its pickle receiver (port 2004): frames of a
/// 4-byte big-endian length and a pickled list of `(path, (timestamp, value))` tuples.
///
/// Written by hand with pickle protocol 2's opcodes for the only types carbon's safe unpickler
/// needs here: a list, tuples, text and floats (timestamp and value both as 64-bit floats, as
/// carbon stores them). Frames are cut at ``maximumFrameBytes``, well below carbon's
/// `PICKLE_RECEIVER_MAX_LENGTH` (1 MiB by default), whatever the batch size.
public enum GraphitePickle {
    /// Largest pickle body of one frame.
    public static let maximumFrameBytes = 256 << 10

    /// Appends frames holding one tuple per event that has a metric: the `service` as path
    /// (whitespace and control characters written as `_`, as on the plaintext wire), the time in
    /// seconds and the metric. Events without a metric have none.
    public static func encode<Events: Sequence<RiemannEvent>>(_ events: Events, into buffer: inout ByteBuffer) {
        var frameStart: Int?
        for event in events {
            guard let metric = event.metric else { continue }
            if let start = frameStart, buffer.writerIndex - start > Self.maximumFrameBytes {
                Self.finishFrame(startingAt: start, in: &buffer)
                frameStart = nil
            }
            if frameStart == nil {
                frameStart = buffer.writerIndex
                buffer.writeInteger(UInt32(0))  // the length, set when the frame is finished
                buffer.writeBytes([0x80, 0x02, UInt8(ascii: "]"), UInt8(ascii: "(")])  // PROTO 2, EMPTY_LIST, MARK
            }
            var path = Array((event.service ?? "").utf8).map { $0 <= 0x20 || $0 == 0x7F ? UInt8(ascii: "_") : $0 }
            if path.isEmpty { path = [UInt8(ascii: "_")] }
            buffer.writeInteger(UInt8(ascii: "X"))  // BINUNICODE
            buffer.writeInteger(UInt32(path.count), endianness: .little)
            buffer.writeBytes(path)
            Self.writeFloat(Double(event.time ?? 0), into: &buffer)
            switch metric {
            case .sint64(let value): Self.writeFloat(Double(value), into: &buffer)
            case .double(let value): Self.writeFloat(value, into: &buffer)
            case .float(let value): Self.writeFloat(Double(value), into: &buffer)
            }
            buffer.writeBytes([0x86, 0x86])  // TUPLE2 (timestamp, value), TUPLE2 (path, ...)
        }
        if let start = frameStart { Self.finishFrame(startingAt: start, in: &buffer) }
    }

    /// BINFLOAT: `G` and the IEEE 754 double, big-endian.
    private static func writeFloat(_ value: Double, into buffer: inout ByteBuffer) {
        buffer.writeInteger(UInt8(ascii: "G"))
        buffer.writeInteger(value.bitPattern, endianness: .big)
    }

    /// APPENDS and STOP, then the frame's length in front.
    private static func finishFrame(startingAt start: Int, in buffer: inout ByteBuffer) {
        buffer.writeBytes([UInt8(ascii: "e"), UInt8(ascii: ".")])
        buffer.setInteger(UInt32(buffer.writerIndex - start - 4), at: start, endianness: .big)
    }
}
