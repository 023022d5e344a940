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
    _ executable: String,
    _ arguments: [String],
    input: [UInt8] = [],
    timeout: Double = 20
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

    try process.run()
    let pid = process.processIdentifier
    DispatchQueue.global().asyncAfter(deadline: .now() + timeout) {
        if process.isRunning, process.processIdentifier == pid {
            process.terminate()
        }
    }
    // Drain stdout and stderr concurrently so neither pipe can fill up and stall the program.
    // Blocking reads run on Dispatch threads, not on the (small) Swift concurrency pool.
    async let out = readToEnd(stdout.fileHandleForReading)
    async let err = readToEnd(stderr.fileHandleForReading)
    stdin.fileHandleForWriting.write(Data(input))
    try? stdin.fileHandleForWriting.close()
    let (outData, errData) = await (out, err)
    await withCheckedContinuation { continuation in
        DispatchQueue.global().async {
            process.waitUntilExit()
            continuation.resume()
        }
    }
    return ProcessOutput(
        exitCode: process.terminationStatus,
        standardOutput: String(decoding: outData, as: UTF8.self),
        standardError: String(decoding: errData, as: UTF8.self)
    )
}

private func readToEnd(_ handle: FileHandle) async -> Data {
    await withCheckedContinuation { continuation in
        DispatchQueue.global().async {
            continuation.resume(returning: handle.readDataToEndOfFile())
        }
    }
}

/// Whether `path` names an executable file (tests needing an optional tool check this first).
func isExecutable(_ path: String) -> Bool {
    FileManager.default.isExecutableFile(atPath: path)
}
