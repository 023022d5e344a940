#if canImport(Glibc)
import Glibc
#endif

/// Reads small files with plain POSIX calls, so failures carry the system's own wording
/// ("No such file or directory", "Permission denied").
enum FileReading {
    struct Failure: Error, CustomStringConvertible {
        var description: String
        /// The `errno` of a failed system call (`ENOENT`: no such file); `nil` for other reasons.
        var code: Int32? = nil
    }

    static func readAll(path: String, limit: Int) -> Result<[UInt8], Failure> {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return .failure(Failure(description: String(cString: strerror(errno)), code: errno)) }
        defer { close(fd) }
        var contents: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                return .failure(Failure(description: String(cString: strerror(errno)), code: errno))
            }
            if n == 0 { return .success(contents) }
            contents += chunk[..<n]
            if contents.count > limit {
                return .failure(Failure(description: "larger than \(limit) bytes"))
            }
        }
    }
}
