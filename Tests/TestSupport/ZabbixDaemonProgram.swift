/// The four Zabbix daemons the lab runs, and what all lab instances of one have in common:
/// where the program is, how it runs in the foreground, and the configuration lines that put it
/// on 127.0.0.1 with its log and pid file in its lab directory.
public enum ZabbixDaemonProgram: String, Sendable {
    case agentd = "zabbix_agentd"
    case agent2 = "zabbix_agent2"
    case proxy = "zabbix_proxy"
    case server = "zabbix_server"

    /// The executable of `version`, or nil where that version has none here.
    public func executable(_ version: ZabbixLabVersion) -> String? {
        let programs = version.programs
        switch self {
        case .agentd: return programs.agentd
        case .agent2: return programs.agent2
        case .proxy: return programs.proxy
        case .server: return programs.server
        }
    }

    /// Short name for lab directories (`/tmp/zabbix-lab-agentd-XXXXXX`).
    var directoryName: String {
        switch self {
        case .agentd: return "agentd"
        case .agent2: return "agent2"
        case .proxy: return "proxy"
        case .server: return "server"
        }
    }

    /// Command line in the foreground: the C daemons need `-f`; agent2 never forks.
    func arguments(configFile: String) -> [String] {
        self == .agent2 ? ["-c", configFile] : ["-f", "-c", configFile]
    }

    /// The lines every lab instance gets: listen on 127.0.0.1:`port`, log to a file that never
    /// rotates, pid file in `directory`, and a 10 s timeout. `AllowRoot=1` for the C daemons (the
    /// tests run as root in CI; agent2 has no such parameter and runs as whoever starts it).
    func commonConfiguration(directory: String, port: Int, logFile: String) -> [String] {
        (self == .agent2 ? [] : ["AllowRoot=1"]) + [
            "ListenIP=127.0.0.1",
            "ListenPort=\(port)",
            "LogType=file",
            "LogFile=\(logFile)",
            "LogFileSize=0",
            "PidFile=\(directory)/\(rawValue).pid",
            "Timeout=10",
        ]
    }
}
