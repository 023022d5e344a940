import Foundation

/// The outcome of running an external program in a test.
struct ProcessOutput: Sendable {
    var exitCode: Int32
    var standardOutput: String
    var standardError: String
}

/// Runs `executable` with `arguments`, feeding `input` on stdin; fails the await if it cannot start.
/// The program is killed after `timeout` seconds so a hung peer cannot hang the test run.
func runProcess(
    _ executable: String, _ arguments: [String], input: [UInt8] = [], timeout: Double = 20
) async throws -> ProcessOutput {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    let stdin = Pipe()
    let stdout = Pipe()
    let stderr = Pipe()
    process.standardInput = stdin
    process.standardOutput = stdout
    process.standardError = stderr

    return try await withCheckedThrowingContinuation { continuation in
        process.terminationHandler = { process in
            let out = stdout.fileHandleForReading.readDataToEndOfFile()
            let err = stderr.fileHandleForReading.readDataToEndOfFile()
            continuation.resume(
                returning: ProcessOutput(
                    exitCode: process.terminationStatus,
                    standardOutput: String(decoding: out, as: UTF8.self),
                    standardError: String(decoding: err, as: UTF8.self)))
        }
        do {
            try process.run()
        } catch {
            continuation.resume(throwing: error)
            return
        }
        stdin.fileHandleForWriting.write(Data(input))
        try? stdin.fileHandleForWriting.close()
        let pid = process.processIdentifier
        DispatchQueue.global().asyncAfter(deadline: .now() + timeout) {
            if process.isRunning, process.processIdentifier == pid {
                process.terminate()
            }
        }
    }
}

/// Whether `path` names an executable file (tests needing an optional tool check this first).
func isExecutable(_ path: String) -> Bool {
    FileManager.default.isExecutableFile(atPath: path)
}
