import Admin
import ArgumentParser
import Foundation
import Logging
import NIOCore
import NIOPosix
import Relay
import ServiceLifecycle
import Tee

/// `zabbix-tee run`: the daemon.
struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run the tee with the given configuration.",
        discussion: """
            SIGTERM or SIGINT stop accepting, let open connections finish (shutdown_timeout), then exit 0. \
            SIGHUP re-reads the configuration file and applies it without dropping connections; \
            a configuration that does not validate is rejected and the running one stays.
            """
    )

    @OptionGroup var options: ConfigOptions

    @Option(help: "Log level (trace, debug, info, notice, warning, error, critical); overrides log_level.")
    var logLevel: Logger.Level?

    @Option(help: "Log format on standard error: text (human-readable) or json (one object per line).")
    var logFormat: TeeLogHandlers.Format = .text

    func run() async throws {
        // A closed standard error (or Riemann, or a peer) is EPIPE, never a fatal SIGPIPE.
        ignoreBrokenPipes()
        let configuration = try self.options.load()
        let level = self.logLevel ?? configuration.logLevel
        let format = self.logFormat
        LoggingSystem.bootstrap { label in
            TeeLogHandlers.make(label: label, level: level, format: format)
        }
        // Log lines are written by a thread of their own; the last ones go out before the exit.
        defer { LogWriter.standardError.flush(timeout: .seconds(2)) }
        let logger = Logger(label: "zabbix-tee")
        for warning in configuration.warnings {
            logger.warning("\(warning)")
        }
        if geteuid() == 0 {
            logger.warning(
                "running as root; zabbix-tee needs no privileges (even ports below 1024 only need CAP_NET_BIND_SERVICE): run it as an unprivileged user, e.g. with deploy/zabbix-tee.service (DynamicUser=yes)"
            )
        }
        Self.raiseFileLimit(logger: logger)
        Self.checkFileLimit(maxConnections: configuration.maxConnections, logger: logger)
        let group = MultiThreadedEventLoopGroup(numberOfThreads: configuration.threads ?? CPUAffinity.availableCPUs)
        let daemon = TeeDaemon(
            configuration: configuration,
            configurationPath: self.options.config,
            group: group,
            logger: logger
        )
        let services = daemon.makeServiceGroup(gracefulShutdownSignals: [.sigterm, .sigint])
        do {
            try await services.run()
        } catch let error as RelayListener.BindError {
            logger.critical("cannot start: \(error)")
            try? await group.shutdownGracefully()
            throw ExitCode(71)
        } catch let error as AdminServer.BindError {
            logger.critical("cannot start: \(error)")
            try? await group.shutdownGracefully()
            throw ExitCode(71)
        }
        try await group.shutdownGracefully()
    }

    /// Two descriptors per connection: a `max_connections` the open-file limit cannot hold would
    /// turn into failed accepts (`EMFILE`) instead of clean refusals.
    private static func checkFileLimit(maxConnections: Int, logger: Logger) {
        var limit = rlimit()
        guard getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return }
        let needed = UInt64(2 * maxConnections + 256)
        guard UInt64(limit.rlim_cur) < needed else { return }
        logger.warning(
            "the open-file limit cannot hold max_connections (two descriptors per connection); accepting pauses when it runs out",
            metadata: [
                "max_connections": "\(maxConnections)", "open_files": "\(limit.rlim_cur)", "needed": "\(needed)",
            ]
        )
    }

    /// Two descriptors per relayed connection: a soft limit of 1024 would cap the tee near 500
    /// connections, so the soft limit goes up to the hard one; the result is logged either way.
    private static func raiseFileLimit(logger: Logger) {
        guard let change = FileDescriptorLimit.raiseSoftToHard() else { return }
        let metadata: Logger.Metadata = ["soft": "\(change.soft)", "hard": "\(change.hard)"]
        if change.raised {
            logger.info(
                "raised the open-file limit to the hard limit",
                metadata: metadata.merging(["was": "\(change.previousSoft)"]) { $1 }
            )
        } else if change.soft < change.hard {
            logger.warning("cannot raise the open-file limit to the hard limit", metadata: metadata)
        } else {
            logger.debug("open-file limit", metadata: metadata)
        }
    }
}

extension Logger.Level: @retroactive ExpressibleByArgument {}
extension TeeLogHandlers.Format: ExpressibleByArgument {}
