import ArgumentParser
import Foundation
import Tee

/// `--config FILE`, shared by the subcommands.
struct ConfigOptions: ParsableArguments {
    @Option(name: [.short, .long], help: "Path of the configuration file.")
    var config: String = "config.yaml"

    init() {}

    init(config: String) {
        self.config = config
    }

    /// Loads the configuration or exits with status 78 (EX_CONFIG) and a one-line error on stderr.
    func load() throws -> TeeConfiguration {
        do {
            return try ConfigLoader.load(path: self.config)
        } catch {
            StandardStream.error.write("zabbix-tee: configuration error: \(error)\n")
            throw ExitCode(78)
        }
    }
}
