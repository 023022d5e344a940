import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A real carbon-cache (Debian `graphite-carbon`) in the foreground on free loopback ports, with
/// its whisper files in a temporary directory (one-second resolution for an hour), read back
/// with `whisper-fetch` (`python3-whisper`). Stopped by PID.
public final class CarbonCache: Sendable {
    public static let executable = "/usr/bin/carbon-cache"
    public static let fetchExecutable = "/usr/bin/whisper-fetch"

    /// Why the test cannot run here, or `nil`.
    public static var unavailableReason: String? {
        for program in [Self.executable, Self.fetchExecutable]
        where !FileManager.default.isExecutableFile(atPath: program) {
            return "\(program) missing: run scripts/install-test-deps.sh (graphite-carbon, python3-whisper)"
        }
        return nil
    }

    /// The plaintext line receiver's port.
    public let port: Int
    /// The pickle receiver's port.
    public let picklePort: Int
    public let directory: String
    private let process: ChildProcess

    private init(port: Int, picklePort: Int, directory: String, process: ChildProcess) {
        self.port = port
        self.picklePort = picklePort
        self.directory = directory
        self.process = process
    }

    /// Starts carbon-cache and waits until its line receiver accepts connections.
    public static func start() async throws -> CarbonCache {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "carbon-\(UUID().uuidString.prefix(8))"
        ).path
        for sub in ["storage/whisper", "storage/lists", "log"] {
            try FileManager.default.createDirectory(atPath: "\(directory)/\(sub)", withIntermediateDirectories: true)
        }
        let (line, pickle, query) = (try LoopbackPort.free(), try LoopbackPort.free(), try LoopbackPort.free())
        let configuration = """
            [cache]
            STORAGE_DIR = \(directory)/storage/
            LOCAL_DATA_DIR = \(directory)/storage/whisper/
            WHITELISTS_DIR = \(directory)/storage/lists/
            CONF_DIR = \(directory)/
            LOG_DIR = \(directory)/log/
            PID_DIR = \(directory)/
            DATABASE = whisper
            ENABLE_LOGROTATION = False
            ENABLE_TAGS = False
            MAX_CACHE_SIZE = inf
            MAX_UPDATES_PER_SECOND = 10000
            MAX_CREATES_PER_MINUTE = inf
            LINE_RECEIVER_INTERFACE = 127.0.0.1
            LINE_RECEIVER_PORT = \(line)
            ENABLE_UDP_LISTENER = False
            PICKLE_RECEIVER_INTERFACE = 127.0.0.1
            PICKLE_RECEIVER_PORT = \(pickle)
            CACHE_QUERY_INTERFACE = 127.0.0.1
            CACHE_QUERY_PORT = \(query)
            WHISPER_AUTOFLUSH = True
            LOG_LISTENER_CONNECTIONS = True
            LOG_CREATES = True

            """
        try configuration.write(toFile: "\(directory)/carbon.conf", atomically: true, encoding: .utf8)
        // 1 s points for an hour: a value lands at its own second (and the file stays small).
        try "[default]\npattern = .*\nretentions = 1s:1h\n".write(
            toFile: "\(directory)/storage-schemas.conf",
            atomically: true,
            encoding: .utf8
        )
        let process = try ChildProcess(
            Self.executable,
            ["--config=\(directory)/carbon.conf", "--nodaemon", "start"],
            stdoutPath: "\(directory)/console.log",
            stderrPath: "\(directory)/console.log"
        )
        let carbon = CarbonCache(port: line, picklePort: pickle, directory: directory, process: process)
        do {
            try await waitUntil("carbon-cache to accept on 127.0.0.1:\(line) and :\(pickle)", timeout: .seconds(30)) {
                guard process.isRunning else { throw CarbonCacheError.exited(carbon.consoleLog) }
                return LoopbackPort.isAccepting(line) && LoopbackPort.isAccepting(pickle)
            }
        } catch {
            await carbon.stop()
            throw error
        }
        return carbon
    }

    /// What carbon-cache printed (its console log).
    public var consoleLog: String {
        (try? String(contentsOfFile: "\(self.directory)/console.log", encoding: .utf8)) ?? ""
    }

    /// The whisper file of a metric path (`a.b.c` → `storage/whisper/a/b/c.wsp`).
    public func whisperFile(_ path: String) -> String {
        "\(self.directory)/storage/whisper/" + path.replacingOccurrences(of: ".", with: "/") + ".wsp"
    }

    /// The points `whisper-fetch` reads from the metric's file since `from` (Unix seconds), empty
    /// slots (`None`) left out; empty while the file does not exist. (Not `--drop=nulls`: whisper
    /// 1.1.4 then numbers the remaining points from `from`, so their timestamps are wrong.)
    public func points(_ path: String, from: Int64) async throws -> [(time: Int64, value: Double)] {
        let file = self.whisperFile(path)
        guard FileManager.default.fileExists(atPath: file) else { return [] }
        let result = try await ProcessRunner.run(
            Self.fetchExecutable,
            ["--from=\(from)", file],
            timeout: .seconds(20)
        )
        guard result.exitCode == 0 else { throw CarbonCacheError.fetchFailed(result.description) }
        return result.standardOutput.split(separator: "\n").compactMap { line in
            let fields = line.split(whereSeparator: \.isWhitespace)
            guard fields.count == 2, let time = Int64(fields[0]), let value = Double(fields[1]) else { return nil }
            return (time, value)
        }
    }

    /// Stops carbon-cache (SIGTERM, then SIGKILL after 10 s) and removes its directory.
    public func stop() async {
        if self.process.isRunning {
            kill(self.process.pid, SIGTERM)
            let stopped =
                (try? await waitUntil("carbon-cache to stop", timeout: .seconds(10)) { !self.process.isRunning }) != nil
            if !stopped {
                kill(-self.process.pid, SIGKILL)
                try? await waitUntil("carbon-cache to die", timeout: .seconds(5)) { !self.process.isRunning }
            }
        }
        try? FileManager.default.removeItem(atPath: self.directory)
    }
}

public enum CarbonCacheError: Error, CustomStringConvertible {
    case exited(String)
    case fetchFailed(String)

    public var description: String {
        switch self {
        case .exited(let log): "carbon-cache exited at start:\n\(log)"
        case .fetchFailed(let output): "whisper-fetch failed: \(output)"
        }
    }
}
