#if canImport(Glibc)
import Glibc
#endif

/// `write(2)` until every byte is written, or the first real error.
///
/// Foundation's `FileHandle.write` traps on any error (swift-corelibs-foundation calls the
/// throwing variant with `try!`): one ENOSPC on a recording, or EPIPE on a closed log pipe, would
/// take the whole process and every relayed connection with it. Every file the tee writes goes
/// through here instead.
enum DescriptorWriting {
    /// Writes all of `bytes` to `descriptor`. Retries after EINTR and after partial writes; after
    /// EAGAIN (a descriptor someone made non-blocking) waits until it is writable again, at most
    /// `stallTimeoutMilliseconds` each time (`-1`: as long as it takes, for a writer thread of its
    /// own). Returns how many bytes were written and, if not all, why.
    @discardableResult
    static func writeAll(
        _ bytes: UnsafeRawBufferPointer,
        to descriptor: Int32,
        stallTimeoutMilliseconds: Int32 = -1
    ) -> (written: Int, error: SystemError?) {
        guard let base = bytes.baseAddress else { return (0, nil) }
        var offset = 0
        while offset < bytes.count {
            let n = write(descriptor, base + offset, bytes.count - offset)
            if n > 0 {
                offset += n
                continue
            }
            if n == 0 { return (offset, SystemError(code: EIO)) }  // write(2) made no progress
            let code = errno
            switch code {
            case EINTR:
                continue
            case EAGAIN, EWOULDBLOCK:
                var poll = pollfd(fd: descriptor, events: Int16(POLLOUT), revents: 0)
                let ready = Glibc.poll(&poll, 1, stallTimeoutMilliseconds)
                if ready == 0 { return (offset, SystemError(code: EAGAIN)) }
                if ready < 0, errno != EINTR { return (offset, SystemError.current) }
            default:
                return (offset, SystemError(code: code))
            }
        }
        return (offset, nil)
    }

    /// ``writeAll(_:to:stallTimeoutMilliseconds:)`` for an array.
    @discardableResult
    static func writeAll(
        _ bytes: [UInt8],
        to descriptor: Int32,
        stallTimeoutMilliseconds: Int32 = -1
    ) -> (written: Int, error: SystemError?) {
        bytes.withUnsafeBytes { self.writeAll($0, to: descriptor, stallTimeoutMilliseconds: stallTimeoutMilliseconds) }
    }
}

/// Standard output and standard error for the command line's own messages (configuration
/// errors, warnings, `riemann-listen`'s events), written at once with `write(2)`: a closed or
/// full stream loses the message, nothing else.
public enum StandardStream: Int32, Sendable {
    case output = 1
    case error = 2

    /// Writes `text`, ignoring failures (there is nowhere left to report them).
    public func write(_ text: String) {
        ignoreBrokenPipes()
        DescriptorWriting.writeAll(Array(text.utf8), to: self.rawValue, stallTimeoutMilliseconds: 1000)
    }
}

/// Makes writes to a closed pipe or socket fail with EPIPE instead of killing the process with
/// SIGPIPE (whose default action is to terminate). Process-wide and idempotent.
public func ignoreBrokenPipes() {
    _ = BrokenPipes.ignored
}

private enum BrokenPipes {
    static let ignored: Bool = {
        signal(SIGPIPE, SIG_IGN)
        return true
    }()
}
