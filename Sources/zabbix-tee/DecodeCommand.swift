import ArgumentParser
import Foundation
import Riemann
import Tee
import ZabbixProtocol

/// `zabbix-tee decode`: what the tee makes of recorded Zabbix traffic.
struct DecodeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "decode",
        abstract: "Print the messages and item values of recorded Zabbix traffic as JSON lines.",
        discussion: """
            PATH is a recording directory (client.bin, server.bin, as a listener's `record:` option
            writes them), a directory of such recordings (decoded in name order, sharing what the
            item catalog learns, so an agent's `active checks` resolve its later `agent data`), or a
            single file of bytes sent by a client.

            Values are those the server's replies accepted, as the live tee emits them. With
            --summary, prints instead a table to attach to an upgrade plan: per request type and
            Zabbix version seen, how many values were decoded, accepted, resolved through the item
            catalog, left unresolved, rejected by the server or left unanswered.
            """
    )

    @Argument(help: "Recording directory, directory of recordings, or raw capture file.")
    var path: String

    @Flag(help: "Print the Riemann events the values would become (mapping from --config) instead.")
    var events = false

    @Option(help: "Configuration whose decode, catalog and mapping sections apply.")
    var config: String?

    @Flag(help: "Print a per request type and Zabbix version summary (an upgrade check) instead of the values.")
    var summary = false

    @Option(help: "Listener name the traffic is attributed to (its passive_proxy option applies, with --config).")
    var listener = "capture"

    func run() throws {
        var decode = DecodeConfiguration()
        var mapping = MappingConfiguration()
        var passiveProxy = false
        if let config = self.config {
            let loaded = try ConfigOptions(config: config).load()
            decode = loaded.decode
            mapping = loaded.mapping
            passiveProxy = loaded.options(for: self.listener).passiveProxy
        }
        let decoder = CaptureDecoder(listener: self.listener, passiveProxy: passiveProxy, configuration: decode)
        let mapper = EventMapper(configuration: mapping)
        var totals = DecodeSummary()
        for (index, recording) in try self.recordings().enumerated() {
            let name = recording.name
            let result = decoder.decode(
                client: recording.client,
                server: recording.server,
                connection: UInt64(index + 1)
            )
            totals.add(result)
            if self.summary {
                continue
            } else if self.events {
                for value in result.values {
                    guard case .success(let event) = mapper.event(for: value) else { continue }
                    Self.printJSON(Self.json(event, recording: name))
                }
            } else {
                for (peer, message) in result.messages {
                    Self.printJSON([
                        "recording": name, "from": peer == .client ? "client" : "server",
                        "message": message.kindDescription,
                    ])
                }
                for value in result.values {
                    Self.printJSON(Self.json(value, recording: name))
                }
            }
            let failures = result.statistics.failures.filter { $0.value > 0 }
            if !failures.isEmpty || result.statistics.tlsConnectionCount > 0 {
                var notes: [String: Any] = ["recording": name]
                for (reason, count) in failures { notes[reason.rawValue] = count }
                if result.statistics.tlsConnectionCount > 0 { notes["tls"] = true }
                StandardStream.error.write("zabbix-tee decode: \(Self.text(notes))\n")
            }
        }
        if self.summary { print(totals.text, terminator: "") }
    }

    /// A single client capture, a recording, or a directory of recordings (the format is
    /// ``RecordedConnection``'s).
    private func recordings() throws -> [RecordedConnection] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: self.path, isDirectory: &isDirectory) else {
            throw ValidationError("\(self.path): no such file or directory")
        }
        if !isDirectory.boolValue {
            let client = FileManager.default.contents(atPath: self.path).map(Array.init) ?? []
            return [RecordedConnection(name: self.path, client: client, server: [])]
        }
        if let single = RecordedConnection.read(directory: self.path, name: self.path) { return [single] }
        guard let recordings = RecordedConnection.readAll(in: self.path) else {
            throw ValidationError("\(self.path): cannot list the directory")
        }
        return recordings
    }

    static func json(_ decoded: DecodedValue, recording: String) -> [String: Any] {
        let value = decoded.value
        var object: [String: Any] = [
            "recording": recording, "request": value.requestType.rawValue, "value": value.value,
        ]
        if let host = value.host { object["host"] = host }
        if let key = value.key { object["key"] = key }
        if let itemid = value.itemid { object["itemid"] = itemid }
        if let proxy = value.proxy { object["proxy"] = proxy }
        if let clock = value.clock { object["clock"] = clock }
        if let ns = value.ns { object["ns"] = ns }
        if value.state == .notSupported { object["state"] = 1 }
        if let id = value.id { object["id"] = id }
        if let lastlogsize = value.lastlogsize { object["lastlogsize"] = lastlogsize }
        if let mtime = value.mtime { object["mtime"] = mtime }
        if let failed = decoded.batchFailed { object["batch_failed"] = failed }
        if let version = decoded.zabbixVersion { object["version"] = version }
        return object
    }

    static func json(_ event: RiemannEvent, recording: String) -> [String: Any] {
        var object: [String: Any] = ["recording": recording]
        if let host = event.host { object["host"] = host }
        if let service = event.service { object["service"] = service }
        if let state = event.state { object["state"] = state }
        if let time = event.timeMicros { object["time_micros"] = time }
        if let description = event.description { object["description"] = description }
        switch event.metric {
        case .sint64(let value): object["metric_sint64"] = value
        case .double(let value): object["metric_d"] = value
        case .float(let value): object["metric_f"] = Double(value)
        case nil: break
        }
        object["tags"] = event.tags
        if let ttl = event.ttl { object["ttl"] = Double(ttl) }
        object["attributes"] = Dictionary(
            event.attributes.map { ($0.key, $0.value ?? "") },
            uniquingKeysWith: { a, _ in a }
        )
        return object
    }

    static func printJSON(_ object: [String: Any]) {
        print(Self.text(object))
    }

    static func text(_ object: [String: Any]) -> String {
        guard
            let data = try? JSONSerialization.data(
                withJSONObject: object,
                options: [.sortedKeys, .withoutEscapingSlashes]
            )
        else { return "{}" }
        return String(decoding: data, as: UTF8.self)
    }
}

extension ZabbixMessage {
    /// The message type as JSON output names it (management and unknown requests keep their
    /// request name).
    var kindDescription: String {
        if case .other(let request) = self { return "\(self.kindName): \(request)" }
        return self.kindName
    }
}
