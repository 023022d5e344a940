#if canImport(Glibc)
import Glibc
#endif

/// Standard output or error, written without ever trapping.
///
/// Foundation's `FileHandle.write(_:)` traps when the write fails (a closed pipe, a full disk, a
/// closed descriptor), so `zabbix-tee riemann-listen | head -1`, or a full disk under
/// `decode 2>log`, would crash. Here a text that cannot be written is lost and the command goes
/// on (or ends as its other outputs decide).
enum StandardStream {
    case output
    case error

    func write(_ text: String) {
        let descriptor = self == .output ? STDOUT_FILENO : STDERR_FILENO
        var text = text
        text.withUTF8 { bytes in
            var offset = 0
            while offset < bytes.count, let base = bytes.baseAddress {
                let written = Glibc.write(descriptor, base + offset, bytes.count - offset)
                if written > 0 {
                    offset += written
                } else if written < 0, errno == EINTR {
                    continue
                } else {
                    return
                }
            }
        }
    }
}
