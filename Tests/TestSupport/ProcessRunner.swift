import Foundation

/// Runs a program to completion with a timeout and captures its output.
///
/// Output goes to temporary files rather than pipes, so a chatty program can never block on a
/// full pipe, and programs that leave daemons behind (`pg_ctl start`) do not keep us waiting
/// for an end-of-file. On timeout the program's whole process group is killed.
public enum ProcessRunner {
    /// Runs `executable` with `arguments`; `input` is fed on standard input if given.
    public static func run(
        _ executable: String,
        _ arguments: [String],
        input: String? = nil,
        timeout: Duration = .seconds(30)
    ) async throws -> ProcessResult {
        let running = try Launched(executable, arguments, input: input)
        var timedOut = false
        do {
            try await waitUntil("\(executable) to exit", timeout: timeout, interval: .milliseconds(10)) {
                !running.child.isRunning
            }
        } catch is WaitTimeout {
            timedOut = true
            running.kill()
            try await waitUntil("killed \(executable) to exit", timeout: .seconds(5), interval: .milliseconds(10)) {
                !running.child.isRunning
            }
        }
        return running.result(timedOut: timedOut)
    }

    /// Blocking twin of `run`, for clean-up paths that cannot be async.
    public static func runBlocking(
        _ executable: String,
        _ arguments: [String],
        input: String? = nil,
        timeout: Duration = .seconds(30)
    ) throws -> ProcessResult {
        let running = try Launched(executable, arguments, input: input)
        var timedOut = false
        if !waitUntilBlocking(timeout: timeout, interval: .milliseconds(10), { !running.child.isRunning }) {
            timedOut = true
            running.kill()
            waitUntilBlocking(timeout: .seconds(5), interval: .milliseconds(10)) { !running.child.isRunning }
        }
        return running.result(timedOut: timedOut)
    }

    /// A started program with its output files.
    private struct Launched {
        let child: ChildProcess
        let directory: String

        init(_ executable: String, _ arguments: [String], input: String?) throws {
            directory = try ZabbixLabDirectory.create("run")
            let stdin = "\(directory)/stdin"
            _ = FileManager.default.createFile(atPath: stdin, contents: Data((input ?? "").utf8))
            do {
                child = try ChildProcess(
                    executable,
                    arguments,
                    stdinPath: stdin,
                    stdoutPath: "\(directory)/stdout",
                    stderrPath: "\(directory)/stderr"
                )
            } catch {
                try? FileManager.default.removeItem(atPath: directory)
                throw error
            }
        }

        /// The child leads its own process group; kill all of it.
        func kill() {
            ProcessGroup.signal(child.pid, SIGKILL)
        }

        func result(timedOut: Bool) -> ProcessResult {
            let out = (try? String(contentsOfFile: "\(directory)/stdout", encoding: .utf8)) ?? ""
            let err = (try? String(contentsOfFile: "\(directory)/stderr", encoding: .utf8)) ?? ""
            try? FileManager.default.removeItem(atPath: directory)
            return ProcessResult(
                exitCode: child.exitCode ?? -1,
                standardOutput: out,
                standardError: err,
                timedOut: timedOut
            )
        }
    }
}
