import Foundation
import TestSupport
import Testing

/// The `zabbix-tee` executable as an operator meets it: help, check-config, start-up errors.
@Suite("zabbix-tee command line", .tags(.integration), .tier(.integration), .timeLimit(.minutes(1)))
final class CommandLineTests {
    /// The configuration directories this test wrote; removed when it ends.
    private var directories: [String] = []

    deinit {
        for directory in self.directories { ZabbixLabDirectory.remove(directory) }
    }
    func run(_ arguments: [String]) async throws -> ProcessResult {
        try await ProcessRunner.run(TeeProcess.binary, arguments, timeout: .seconds(20))
    }

    func write(_ text: String) throws -> String {
        let directory = try ZabbixLabDirectory.create("config")
        self.directories.append(directory)
        let path = "\(directory)/config.yaml"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test func helpListsTheSubcommands() async throws {
        let help = try await self.run(["--help"])
        #expect(help.exitCode == 0)
        #expect(help.standardOutput.contains("run"))
        #expect(help.standardOutput.contains("check-config"))
    }

    @Test func checkConfigPrintsTheEffectiveConfigurationOfTheShippedExample() async throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let result = try await self.run(["check-config", "--config", root.appendingPathComponent("config.yaml").path])
        #expect(result.exitCode == 0, "\(result)")
        #expect(result.standardOutput.contains("idle_timeout:"))
        #expect(result.standardOutput.contains("balance:"))
    }

    /// (broken YAML, the key path the one-line error must name)
    static let broken: [(String, String)] = [
        ("listeners:\n  - name: a\n    listen: [\"127.0.0.1:1\"]\n    targets: []\n", "listeners[0].targets"),
        ("listeners:\n  - name: a\n    listen: [\"127.0.0.1\"]\n    targets: [\"h:1\"]\n", "listeners[0].listen[0]"),
        (
            "listeners:\n  - name: a\n    listen: [\"127.0.0.1:1\"]\n    targets: [\"h:1\"]\n    colour: blue\n",
            "listeners[0].colour"
        ),
        (
            "listeners:\n  - name: a\n    listen: [\"127.0.0.1:1\"]\n    targets: [\"h:1\"]\n  - name: b\n    listen: [\"127.0.0.1:1\"]\n    targets: [\"h:1\"]\n",
            "listeners[1].listen[0]"
        ),
        (
            "listeners:\n  - name: a\n    listen: [\"127.0.0.1:1\"]\n    targets: [\"h:1\"]\n    balance: sticky\n",
            "listeners[0].balance"
        ),
        (
            "listeners:\n  - name: a\n    listen: [\"127.0.0.1:1\"]\n    targets: [\"h:1\"]\n    idle_timeout: forever\n",
            "listeners[0].idle_timeout"
        ),
    ]

    @Test(arguments: Self.broken)
    func brokenConfigurationFailsWithAOneLineErrorNamingTheKey(_ broken: (String, String)) async throws {
        let (yaml, keyPath) = broken
        let path = try self.write(yaml)
        for command in ["check-config", "run"] {
            let result = try await self.run([command, "--config", path])
            #expect(result.exitCode == 78, "\(command): \(result)")
            let lines = result.standardError.split(separator: "\n")
            #expect(lines.count == 1, "\(command): \(result.standardError)")
            #expect(result.standardError.contains("\(path):"), "names the file")
            #expect(result.standardError.contains(": \(keyPath): "), "\(command): \(result.standardError)")
        }
    }

    /// Two descriptors per connection: a soft limit of 1024 would cap the tee near 500 agents.
    @Test func runRaisesTheSoftOpenFileLimitToTheHardLimitAndLogsIt() async throws {
        var limit = rlimit()
        getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit)
        try #require(limit.rlim_max > 256, "the hard limit leaves nothing to raise")
        let port = try LoopbackPort.free()
        let tee = try await TeeProcess.start(
            configuration: "log_level: info\nlisteners:\n"
                + TeeProcess.listener(name: "agents", port: port, targets: [10051]),
            ports: [port],
            softFileLimit: 256
        )
        let limits = try String(contentsOfFile: "/proc/\(tee.child.pid)/limits", encoding: .utf8)
        let line = limits.split(separator: "\n").first { $0.hasPrefix("Max open files") } ?? ""
        let numbers = line.split(separator: " ").compactMap { UInt64($0) }
        #expect(numbers == [UInt64(limit.rlim_max), UInt64(limit.rlim_max)], "\(line)")
        #expect(tee.log().contains("raised the open-file limit to the hard limit"), "\(tee.log())")
        #expect(tee.log().contains("was=256"), "\(tee.log())")
        #expect(try await tee.stop() == 0)
    }

    @Test func listenAddressInUseFailsAtStartWithTheAddress() async throws {
        let taken = try BlockingListener()
        let path = try self.write(
            "listeners:\n" + TeeProcess.listener(name: "agents", port: taken.port, targets: [10051])
        )
        let result = try await self.run(["run", "--config", path])
        #expect(result.exitCode != 0)
        #expect(result.standardError.contains("cannot listen on 127.0.0.1:\(taken.port)"), "\(result)")
        taken.close()
    }

    @Test func automaticThreadCountFollowsTheCPUAffinity() async throws {
        let path = try self.write("listeners:\n" + TeeProcess.listener(name: "a", port: 1, targets: [2]))
        let pinned = try await ProcessRunner.run(
            "/usr/bin/taskset",
            ["-c", "0", TeeProcess.binary, "check-config", "--config", path]
        )
        #expect(pinned.exitCode == 0, "\(pinned)")
        #expect(pinned.standardOutput.contains("threads: auto  # auto: 1 CPUs available"), "\(pinned.standardOutput)")
    }

    @Test func sigtermStopsTheTeeWithExitStatusZero() async throws {
        let port = try LoopbackPort.free()
        let tee = try await TeeProcess.start(
            configuration: "listeners:\n" + TeeProcess.listener(name: "a", port: port, targets: [10051]),
            ports: [port]
        )
        #expect(try await tee.stop(signal: SIGTERM) == 0)
    }

    @Test func checkConfigWarnsAboutAPublicAdminEndpointAndStillSucceeds() async throws {
        let path = try self.write(
            "listeners:\n" + TeeProcess.listener(name: "a", port: 1, targets: [2])
                + "\nadmin:\n  listen: \"0.0.0.0:9810\"\n"
        )
        let result = try await self.run(["check-config", "--config", path])
        #expect(result.exitCode == 0, "\(result)")
        #expect(result.standardOutput.contains("listen: \"0.0.0.0:9810\""))
        #expect(result.standardError.contains("\(path):"), "names the file")
        #expect(
            result.standardError.contains("admin.listen: warning: 0.0.0.0 is every address of this host"),
            "\(result.standardError)"
        )
        #expect(!result.standardOutput.contains("warning"), "the effective configuration on stdout stays clean")

        let loopback = try self.write("listeners:\n" + TeeProcess.listener(name: "a", port: 1, targets: [2]))
        let quiet = try await self.run(["check-config", "--config", loopback])
        #expect(quiet.exitCode == 0)
        #expect(quiet.standardError.isEmpty, "\(quiet.standardError)")
    }

    @Test func runLogsTheAdminWarningAtStartUp() async throws {
        // The listener's port is taken, so the tee stops (71) before it binds anything, let alone
        // the admin endpoint on every address; the warning is logged first.
        let taken = try BlockingListener()
        defer { taken.close() }
        let path = try self.write(
            "listeners:\n" + TeeProcess.listener(name: "a", port: taken.port, targets: [2])
                + "\nadmin:\n  listen: \"[::]:9810\"\n"
        )
        let result = try await self.run(["run", "--config", path])
        #expect(result.exitCode == 71, "\(result)")
        #expect(
            result.standardError.contains("admin.listen: warning: :: is every address of this host"),
            "\(result.standardError)"
        )
    }

    /// As the Zabbix agent refuses to start without `Server=`: a listener reachable from other
    /// hosts without `allow` stops `check-config` and `run` with exit status 78 and the usual
    /// one-line `file:line:col: key: problem`.
    @Test func aNonLoopbackListenerWithoutAllowIsAConfigurationError() async throws {
        let exposed = "listeners:\n  - name: agents\n    listen: [\"0.0.0.0:10051\"]\n    targets: [\"127.0.0.1:2\"]\n"
        let path = try self.write(exposed)
        for command in ["check-config", "run"] {
            let result = try await self.run([command, "--config", path])
            #expect(result.exitCode == 78, "\(command): \(result)")
            #expect(
                result.standardError.hasPrefix(
                    "zabbix-tee: configuration error: \(path):3:13: listeners[0].allow: required for a listener on a non-loopback address"
                ),
                "\(result.standardError)"
            )
            #expect(result.standardError.split(separator: "\n").count == 1, "one line")
        }
        let explicit = try await self.run(["check-config", "--config", try self.write(exposed + "    allow: any\n")])
        #expect(explicit.exitCode == 0, "\(explicit)")
    }
}
