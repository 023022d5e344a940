#if canImport(Glibc)
import Glibc
#endif

/// A failed system call's `errno`, worded by the system ("No space left on device").
///
/// The writers of the tee (recordings, the item catalog, the log) report these instead of
/// trapping: a full disk or a closed log pipe is counted and survived, never fatal.
public struct SystemError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The `errno` value.
    public var code: Int32

    public init(code: Int32) {
        self.code = code
    }

    /// The calling thread's current `errno`.
    static var current: SystemError { SystemError(code: errno) }

    public var description: String { String(cString: strerror(self.code)) }
}
