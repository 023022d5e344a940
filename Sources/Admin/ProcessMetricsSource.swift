#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The standard `process_*` metrics of the Prometheus client libraries, read from `/proc/self`.
///
/// Linux only: elsewhere the source reports nothing. Reading `/proc` takes microseconds and
/// happens once per scrape.
public struct ProcessMetricsSource: MetricsSource {
    public init() {}

    public func collect(into snapshot: inout MetricsSnapshot) {
        #if os(Linux)
        if let stat = ProcStat.current() {
            let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))
            snapshot.counter(
                "process_cpu_seconds_total",
                help: "Total user and system CPU time spent in seconds.",
                value: Double(stat.userTicks + stat.systemTicks) / ticks
            )
            if let bootTime = ProcStat.bootTime() {
                snapshot.gauge(
                    "process_start_time_seconds",
                    help: "Start time of the process since unix epoch in seconds.",
                    value: Double(bootTime) + Double(stat.startTicks) / ticks
                )
            }
            snapshot.gauge(
                "process_virtual_memory_bytes",
                help: "Virtual memory size in bytes.",
                value: stat.virtualBytes
            )
            snapshot.gauge(
                "process_resident_memory_bytes",
                help: "Resident memory size in bytes.",
                value: stat.residentPages * sysconf(Int32(_SC_PAGESIZE))
            )
        }
        if let open = ProcStat.openFileDescriptors() {
            snapshot.gauge("process_open_fds", help: "Number of open file descriptors.", value: open)
        }
        #if canImport(Glibc)
        var limit = rlimit()
        if getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit) == 0 {
            snapshot.gauge(
                "process_max_fds",
                help: "Maximum number of open file descriptors.",
                value: limit.rlim_cur == rlim_t.max ? Double.infinity : Double(limit.rlim_cur)
            )
        }
        #endif
        #endif
    }
}

#if os(Linux)
/// The fields of `/proc/self/stat` the process metrics need.
struct ProcStat {
    var userTicks: Int
    var systemTicks: Int
    var startTicks: Int
    var virtualBytes: Int
    var residentPages: Int

    static func current() -> ProcStat? {
        guard let text = readSmallFile("/proc/self/stat") else { return nil }
        return self.parse(text)
    }

    /// Parses `/proc/self/stat`. The command name (field 2) is in parentheses and may contain
    /// spaces and parentheses, so fields are counted from the last `)`.
    static func parse(_ text: String) -> ProcStat? {
        guard let close = text.lastIndex(of: ")") else { return nil }
        // Field 3 (state) is index 0 here, so field n is index n - 3.
        let fields = text[text.index(after: close)...].split(separator: " ", omittingEmptySubsequences: true)
        func field(_ number: Int) -> Int? {
            fields.indices.contains(number - 3) ? Int(fields[number - 3]) : nil
        }
        guard let user = field(14), let system = field(15), let start = field(22), let virtual = field(23),
            let resident = field(24)
        else { return nil }
        return ProcStat(
            userTicks: user,
            systemTicks: system,
            startTicks: start,
            virtualBytes: virtual,
            residentPages: resident
        )
    }

    /// Boot time in seconds since the epoch (`btime` of `/proc/stat`).
    static func bootTime() -> Int? {
        guard let text = readSmallFile("/proc/stat") else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix("btime ") {
            return Int(line.dropFirst("btime ".count))
        }
        return nil
    }

    /// Entries of `/proc/self/fd`, not counting the descriptor used to list it.
    static func openFileDescriptors() -> Int? {
        guard let directory = opendir("/proc/self/fd") else { return nil }
        defer { closedir(directory) }
        var count = 0
        while let entry = readdir(directory) {
            let isDot = withUnsafeBytes(of: entry.pointee.d_name) { name in
                name[0] == UInt8(ascii: ".")
            }
            if !isDot { count += 1 }
        }
        return count - 1
    }

    /// Reads a `/proc` file (they report size 0, so read until end of file), at most 64 KiB.
    static func readSmallFile(_ path: String) -> String? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while bytes.count < 65536 {
            let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count < 0, errno == EINTR { continue }
            guard count > 0 else { break }
            bytes += chunk[..<count]
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
#endif
