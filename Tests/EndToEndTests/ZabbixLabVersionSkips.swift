import TestSupport
import Testing

/// Honest skips for tests that run against every `ZabbixLabVersion`: where a version's programs are
/// not installed, that test case stops (is cancelled) with a warning that names the version and
/// the reason, instead of the version quietly missing from the arguments or the case failing.
/// (Swift Testing 6.3 reports a cancelled test case as passed, without its comment: the warning
/// is what shows up in the run's output.)
extension ZabbixLabVersion {
    /// Skips the current test case unless this version's agents, proxy, sender and get are here.
    func requirePrograms(sourceLocation: SourceLocation = #_sourceLocation) throws {
        if let reason = programs.unavailableReason { try Self.skip(reason, sourceLocation) }
    }

    /// Skips the current test case unless this version's programs, server and PostgreSQL are here.
    func requireServer(sourceLocation: SourceLocation = #_sourceLocation) throws {
        try requirePrograms(sourceLocation: sourceLocation)
        if let reason = programs.serverUnavailableReason { try Self.skip(reason, sourceLocation) }
    }

    private static func skip(_ reason: String, _ sourceLocation: SourceLocation) throws -> Never {
        Issue.record(Comment(rawValue: "skipped: \(reason)"), severity: .warning, sourceLocation: sourceLocation)
        try Test.cancel(Comment(rawValue: reason), sourceLocation: sourceLocation)
    }
}

extension ZabbixServerLab {
    /// The shared lab of `version` (`shared(_:)`), or the test case cancelled when it cannot run here.
    static func sharedOrSkip(
        _ version: ZabbixLabVersion,
        sourceLocation: SourceLocation = #_sourceLocation
    ) async throws -> ZabbixServerLab {
        try version.requireServer(sourceLocation: sourceLocation)
        return try await shared(version)
    }
}
