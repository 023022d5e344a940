import ArgumentParser
import Foundation
import Tee

/// `zabbix-tee check-config`: validate a configuration and print it with every default filled in.
struct CheckConfigCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check-config",
        abstract: "Validate a configuration file and print the effective configuration.",
        discussion:
            "Exits 0 when the file is valid (warnings, e.g. an admin endpoint on a public address, go to standard error), 78 with a one-line error naming the key otherwise."
    )

    @OptionGroup var options: ConfigOptions

    func run() throws {
        let configuration = try self.options.load()
        for warning in configuration.warnings {
            StandardStream.error.write("zabbix-tee: \(warning)\n")
        }
        print("# \(self.options.config): valid")
        print(configuration.effectiveYAML, terminator: "")
    }
}
