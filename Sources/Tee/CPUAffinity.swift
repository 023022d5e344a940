import Foundation
import NIOCore

/// How many CPUs this process may run on.
public enum CPUAffinity {
    /// The CPUs in the process's affinity mask (`taskset`, systemd `CPUAffinity=`), read from
    /// `Cpus_allowed_list` in /proc/self/status, within the cgroup limits NIO's
    /// `System.coreCount` honours; at least 1.
    public static var availableCPUs: Int {
        let cores = max(1, System.coreCount)
        guard case .success(let bytes) = FileReading.readAll(path: "/proc/self/status", limit: 1 << 20) else {
            return cores
        }
        let status = String(decoding: bytes, as: UTF8.self)
        guard let line = status.split(separator: "\n").first(where: { $0.hasPrefix("Cpus_allowed_list:") }),
            let allowed = Self.count(list: line.dropFirst("Cpus_allowed_list:".count))
        else { return cores }
        return max(1, min(allowed, cores))
    }

    /// Counts a CPU list such as `0-3,8,10-11`; `nil` if it is not one.
    static func count(list: Substring) -> Int? {
        var total = 0
        for part in list.split(separator: ",") {
            let bounds = part.trimmingCharacters(in: .whitespaces).split(separator: "-")
            guard let low = bounds.first.flatMap({ Int($0) }) else { return nil }
            let high = bounds.count == 2 ? Int(bounds[1]) : low
            guard let high, high >= low else { return nil }
            total += high - low + 1
        }
        return total > 0 ? total : nil
    }
}
