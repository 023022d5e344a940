/// Zabbix names as Graphite path segments, reversibly.
///
/// Graphite splits paths on `.` (and carbon's whisper files follow them as directories), carbon's
/// plaintext protocol splits lines on whitespace, and Graphite's query language gives `[`, `]`,
/// `{`, `}`, `,`, `*`, `?`, `(`, `)` meanings. Zabbix keys hold all of them
/// (`system.cpu.load[all,avg1]`, `vfs.fs.size[/,pfree]`, `log["/var/log/a b"]`). So a name becomes
/// one segment of ASCII letters, digits, `_` and `-` only:
///
/// * `A`–`Z`, `a`–`z`, `0`–`9` stay as they are;
/// * `.` becomes `_`;
/// * every other byte of the UTF-8 text, `_` and `-` included, becomes `-` and its two lower-case
///   hex digits (`[` → `-5b`, `,` → `-2c`, `/` → `-2f`, space → `-20`, `_` → `-5f`).
///
/// `system.cpu.load[all,avg1]` → `system_cpu_load-5ball-2cavg1-5d`. ``unescaped(_:)`` gives the
/// name back: `-` always starts an escape and `_` always stands for `.`.
public enum GraphiteName {
    public static func escaped(_ name: String) -> String {
        var output: [UInt8] = []
        output.reserveCapacity(name.utf8.count)
        let hex = Array("0123456789abcdef".utf8)
        for byte in name.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"):
                output.append(byte)
            case UInt8(ascii: "."):
                output.append(UInt8(ascii: "_"))
            default:
                output += [UInt8(ascii: "-"), hex[Int(byte >> 4)], hex[Int(byte & 0x0F)]]
            }
        }
        return String(decoding: output, as: UTF8.self)
    }

    /// The name ``escaped(_:)`` made `segment` from; `nil` when `segment` is not such an output.
    public static func unescaped(_ segment: String) -> String? {
        var output: [UInt8] = []
        var bytes = segment.utf8.makeIterator()
        func nibble(_ byte: UInt8?) -> UInt8? {
            switch byte {
            case .some(let b) where b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9"): b - UInt8(ascii: "0")
            case .some(let b) where b >= UInt8(ascii: "a") && b <= UInt8(ascii: "f"): b - UInt8(ascii: "a") + 10
            default: nil
            }
        }
        while let byte = bytes.next() {
            switch byte {
            case UInt8(ascii: "_"): output.append(UInt8(ascii: "."))
            case UInt8(ascii: "-"):
                guard let high = nibble(bytes.next()), let low = nibble(bytes.next()) else { return nil }
                output.append(high << 4 | low)
            default: output.append(byte)
            }
        }
        return String(validating: output, as: UTF8.self)
    }
}
