#if canImport(Glibc)
import Glibc

/// Tells when a file is created in a directory, through inotify: a file that lives only a few
/// milliseconds (an atomic save's temporary file) is seen however briefly it exists, which
/// polling the directory cannot promise on a loaded machine.
public final class DirectoryCreationWatch: @unchecked Sendable {
    private let descriptor: Int32

    /// Starts watching `directory`; creations before this call are not reported.
    public init(directory: String) throws {
        descriptor = inotify_init1(Int32(IN_CLOEXEC | IN_NONBLOCK))
        guard descriptor >= 0 else { throw WatchError(description: "inotify_init1: errno \(errno)") }
        guard inotify_add_watch(descriptor, directory, UInt32(IN_CREATE)) >= 0 else {
            close(descriptor)
            throw WatchError(description: "inotify_add_watch \(directory): errno \(errno)")
        }
    }

    deinit { close(descriptor) }

    /// Blocks until a file named `name` is created, or `timeout` passes; true when it was.
    public func waitForCreation(of name: String, timeout: Duration) -> Bool {
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: timeout)
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        while clock.now < deadline {
            let left = clock.now.duration(to: deadline).components
            let milliseconds = Int32(clamping: left.seconds * 1000 + left.attoseconds / 1_000_000_000_000_000 + 1)
            var poller = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
            guard poll(&poller, 1, milliseconds) > 0 else { continue }
            let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            guard count > 0 else { continue }
            if Self.names(in: buffer, count: count).contains(name) { return true }
        }
        return false
    }

    /// The file names of the `inotify_event` records in the first `count` bytes of `buffer`.
    private static func names(in buffer: [UInt8], count: Int) -> [String] {
        var names: [String] = []
        var offset = 0
        let header = MemoryLayout<inotify_event>.size
        while offset + header <= count {
            // `len` is the last field of the header, a UInt32 just before the name.
            let length = buffer.withUnsafeBytes {
                Int($0.loadUnaligned(fromByteOffset: offset + header - 4, as: UInt32.self))
            }
            let nameBytes = buffer[(offset + header)..<min(count, offset + header + length)]
            names.append(String(decoding: nameBytes.prefix { $0 != 0 }, as: UTF8.self))
            offset += header + length
        }
        return names
    }

    public struct WatchError: Error, CustomStringConvertible {
        public let description: String
    }
}
#endif
