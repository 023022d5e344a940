import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// A child process started with `posix_spawn` in a clean state, and reaped by polling `waitpid`.
///
/// Why not `Foundation.Process`: its children inherit the signal mask of the spawning thread, and
/// test-runner threads block most signals — a `zabbix_agentd` started that way has SIGTERM blocked
/// and ignores `kill`. Here every signal is unblocked and reset to its default in the child, and the
/// child leads a new process group (pgid == pid) that its forked workers join.
public final class ChildProcess: Sendable {
    /// Process id, which is also the process group id.
    public let pid: pid_t
    private let status = Mutex<Int32?>(nil)

    /// Starts `executable` with `arguments` (argv[0] is added). Standard input reads `stdinPath`,
    /// standard output goes to `stdoutPath` and standard error to `stderrPath` (created/truncated;
    /// the same path for both appends both streams to one file), or to `stderrDescriptor` (one of
    /// ours, e.g. a pipe's write end) when given.
    public init(
        _ executable: String,
        _ arguments: [String],
        stdinPath: String = "/dev/null",
        stdoutPath: String,
        stderrPath: String,
        stderrDescriptor: Int32? = nil
    ) throws {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, stdinPath, O_RDONLY, 0)
        if let stderrDescriptor {
            // Before the descriptors above 2 are closed: dup2 clears close-on-exec on the copy.
            posix_spawn_file_actions_adddup2(&actions, stderrDescriptor, 2)
        }
        // The child gets none of our other descriptors: NIO's sockets are not close-on-exec, and a
        // daemon holding a test server's listening socket keeps its port bound after it stopped.
        ChildProcess.closeFrom(&actions, 3)
        posix_spawn_file_actions_addopen(&actions, 1, stdoutPath, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0o644)
        if stderrDescriptor != nil {
            // already in place
        } else if stderrPath == stdoutPath {
            posix_spawn_file_actions_adddup2(&actions, 1, 2)
        } else {
            posix_spawn_file_actions_addopen(&actions, 2, stderrPath, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0o644)
        }

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var none = sigset_t()
        sigemptyset(&none)
        var all = sigset_t()
        sigfillset(&all)
        posix_spawnattr_setsigmask(&attributes, &none)
        posix_spawnattr_setsigdefault(&attributes, &all)
        posix_spawnattr_setpgroup(&attributes, 0)
        posix_spawnattr_setflags(
            &attributes,
            Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP)
        )

        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { for argument in argv { free(argument) } }
        var child: pid_t = 0
        let result = posix_spawn(&child, executable, &actions, &attributes, argv, environ)
        guard result == 0 else { throw ChildProcessError.spawnFailed(executable, result) }
        pid = child
    }

    /// The raw `waitpid` status once the child has exited (reaping it), nil while it runs.
    public var exitStatus: Int32? {
        status.withLock { status in
            if let status { return status }
            var raw: Int32 = 0
            let reaped = waitpid(pid, &raw, WNOHANG)
            if reaped == pid || (reaped < 0 && errno == ECHILD) {
                status = reaped == pid ? raw : -1
            }
            return status
        }
    }

    /// True until the child has exited and been reaped.
    public var isRunning: Bool { exitStatus == nil }

    /// Exit code, or 128 + signal number if a signal killed it; nil while running.
    public var exitCode: Int32? {
        guard let raw = exitStatus else { return nil }
        if raw == -1 { return -1 }
        let signal = raw & 0x7f
        return signal == 0 ? (raw >> 8) & 0xff : 128 + signal
    }
}

extension ChildProcess {
    private typealias CloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32

    /// glibc 2.34+ `posix_spawn_file_actions_addclosefrom_np`, which Swift's Glibc module does not
    /// expose, looked up at run time.
    private static let addCloseFrom: CloseFrom? = {
        guard let process = dlopen(nil, RTLD_NOW),
            let symbol = dlsym(process, "posix_spawn_file_actions_addclosefrom_np")
        else {
            return nil
        }
        return unsafeBitCast(symbol, to: CloseFrom.self)
    }()

    static func closeFrom(_ actions: UnsafeMutablePointer<posix_spawn_file_actions_t>, _ lowest: Int32) {
        _ = self.addCloseFrom?(actions, lowest)
    }
}

/// `posix_spawn` refused to start a program.
public enum ChildProcessError: Error, CustomStringConvertible {
    case spawnFailed(String, Int32)
    public var description: String {
        switch self {
        case .spawnFailed(let program, let code): return "cannot start \(program): error \(code)"
        }
    }
}
