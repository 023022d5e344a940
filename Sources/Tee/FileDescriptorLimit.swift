#if canImport(Glibc)
import Glibc
#endif

/// The process's open-file limit (`RLIMIT_NOFILE`).
///
/// Every relayed connection holds two descriptors (client and target), so the common default
/// soft limit of 1024 caps the tee near 500 connections although the hard limit (often 524288
/// under systemd) allows far more. The daemon raises its soft limit to the hard limit at start.
public enum FileDescriptorLimit {
    /// The soft and hard limits before and after ``raiseSoftToHard()``.
    public struct Change: Sendable, Equatable {
        public var previousSoft: UInt64
        public var soft: UInt64
        public var hard: UInt64
        /// True if the soft limit was changed.
        public var raised: Bool { self.soft != self.previousSoft }
    }

    /// Sets the soft limit to the hard limit; returns what it was and what it is, or nil if the
    /// limit cannot be read. If `setrlimit` fails the soft limit is left as it was.
    public static func raiseSoftToHard() -> Change? {
        #if canImport(Glibc)
        let resource = __rlimit_resource_t(RLIMIT_NOFILE.rawValue)
        var limit = rlimit()
        guard getrlimit(resource, &limit) == 0 else { return nil }
        let previous = UInt64(limit.rlim_cur)
        guard limit.rlim_cur < limit.rlim_max else {
            return Change(previousSoft: previous, soft: previous, hard: UInt64(limit.rlim_max))
        }
        var raised = limit
        raised.rlim_cur = limit.rlim_max
        let soft = setrlimit(resource, &raised) == 0 ? UInt64(limit.rlim_max) : previous
        return Change(previousSoft: previous, soft: soft, hard: UInt64(limit.rlim_max))
        #else
        return nil
        #endif
    }
}
