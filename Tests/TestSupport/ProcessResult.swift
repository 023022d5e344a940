/// What a program printed and how it ended.
public struct ProcessResult: Sendable, CustomStringConvertible {
    /// Exit status, or 128 + signal number if it was killed by a signal.
    public var exitCode: Int32
    public var standardOutput: String
    public var standardError: String
    /// True if the program was killed because it outlived its timeout.
    public var timedOut: Bool

    public init(exitCode: Int32, standardOutput: String, standardError: String, timedOut: Bool) {
        self.exitCode = exitCode
        self.standardOutput = standardOutput
        self.standardError = standardError
        self.timedOut = timedOut
    }

    public var description: String {
        "exit \(exitCode)\(timedOut ? " (timed out)" : "")\nstdout: \(standardOutput)\nstderr: \(standardError)"
    }
}
