import Foundation

/// Debian's `chromium`, run headless to load a page the way a person's browser does: for the
/// DOM it ends up with (`--dump-dom`) and a screenshot (PNG).
///
/// Each run gets a profile directory of its own (no state between runs, no lock on a shared
/// profile) and a timeout; `--no-sandbox` because the tests run as root.
public enum HeadlessChromium {
    public static let executable = "/usr/bin/chromium"

    public static var isAvailable: Bool { FileManager.default.isExecutableFile(atPath: self.executable) }

    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    /// The DOM after `url` loaded, serialised as HTML.
    public static func dumpDOM(_ url: String, timeout: Duration = .seconds(60)) async throws -> String {
        let result = try await self.run(["--dump-dom", url], timeout: timeout)
        guard result.exitCode == 0, !result.standardOutput.isEmpty else {
            throw Failure(description: "chromium --dump-dom \(url) failed: \(result)")
        }
        return result.standardOutput
    }

    /// Writes a PNG of the first `width` × `height` pixels of `url` to `path`.
    public static func screenshot(
        _ url: String,
        to path: String,
        width: Int,
        height: Int,
        timeout: Duration = .seconds(60)
    ) async throws {
        try? FileManager.default.removeItem(atPath: path)
        let result = try await self.run(
            ["--screenshot=\(path)", "--window-size=\(width),\(height)", "--hide-scrollbars", url],
            timeout: timeout
        )
        guard result.exitCode == 0, FileManager.default.fileExists(atPath: path) else {
            throw Failure(description: "chromium --screenshot \(url) failed: \(result)")
        }
    }

    private static func run(_ arguments: [String], timeout: Duration) async throws -> ProcessResult {
        let profile = try ZabbixLabDirectory.create("chromium")
        defer { try? FileManager.default.removeItem(atPath: profile) }
        return try await ProcessRunner.run(
            self.executable,
            [
                "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-extensions",
                "--disable-background-networking", "--disable-sync", "--user-data-dir=\(profile)",
            ] + arguments,
            timeout: timeout
        )
    }
}
