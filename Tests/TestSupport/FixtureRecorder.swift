import Foundation

/// A running `zabbix-tee` whose one listener (`fixture`) relays to `target` and records every
/// connection with `record:` — how the fixtures are captured, and how a user records traffic.
///
///     try await FixtureRecorder.withRecording(target: lab.port) { recorder in
///         // point a program at recorder.port ...
///         let connections = try await recorder.connections()
///     }
public final class FixtureRecorder: Sendable {
    /// The listener name recordings (and fixtures decoded from them) are attributed to.
    public static let listener = "fixture"

    public let tee: TeeProcess
    public let port: Int
    /// Where the tee writes `<time>-<id>/{client.bin,server.bin,meta.json}`.
    public let directory: String

    /// `"127.0.0.1:port"`, for `ServerActive=` / a proxy's `Server=`.
    public var address: String { "127.0.0.1:\(self.port)" }

    private init(tee: TeeProcess, port: Int, directory: String) {
        self.tee = tee
        self.port = port
        self.directory = directory
    }

    public static func start(target: Int) async throws -> FixtureRecorder {
        let directory = try ZabbixLabDirectory.create("record")
        let port = try LoopbackPort.free()
        let configuration = """
            log_level: info
            listeners:
            \(TeeProcess.listener(name: Self.listener, port: port, targets: [target], extra: ["record: \(directory)/connections"]))
            """
        let tee = try await TeeProcess.start(configuration: configuration, ports: [port])
        return FixtureRecorder(tee: tee, port: port, directory: directory)
    }

    /// Starts a recorder, runs `body`, stops the tee and removes the recordings even if `body` throws.
    public static func withRecording<T: Sendable>(
        target: Int,
        _ body: (FixtureRecorder) async throws -> T
    ) async throws -> T {
        let recorder = try await start(target: target)
        do {
            let result = try await body(recorder)
            try await recorder.stop()
            return result
        } catch {
            try? await recorder.stop()
            throw error
        }
    }

    public func stop() async throws {
        _ = try await self.tee.stop()
        ZabbixLabDirectory.remove(self.directory)
    }

    /// The connections recorded and closed so far (their `meta.json` is written), oldest first.
    public func connections() throws -> [RecordedConnection] {
        try RecordedConnection.all(in: "\(self.directory)/connections")
    }

    /// Waits until `count` closed connections that carried client bytes are recorded; returns
    /// them oldest first (the tee's own readiness probe records a byte-less connection).
    public func waitForConnections(count: Int, timeout: Duration = .seconds(30)) async throws -> [RecordedConnection] {
        var found: [RecordedConnection] = []
        try await waitUntil("\(count) recorded connections with bytes", timeout: timeout, interval: .milliseconds(50)) {
            found = try self.connections().filter { !$0.client.isEmpty }
            return found.count >= count
        }
        return found
    }

    /// Waits until a closed connection satisfies `predicate` and returns it.
    public func waitForConnection(
        _ what: String,
        timeout: Duration = .seconds(30),
        _ predicate: (RecordedConnection) -> Bool
    ) async throws -> RecordedConnection {
        var found: RecordedConnection?
        try await waitUntil("a recorded connection: \(what)", timeout: timeout, interval: .milliseconds(100)) {
            found = try self.connections().first(where: predicate)
            return found != nil
        }
        return found!
    }
}

/// One connection as the tee recorded it.
public struct RecordedConnection: Sendable {
    public let directory: String
    public let metaJSON: Data
    public let recording: FixtureRecording
    public let client: [UInt8]
    public let server: [UInt8]
    public let clientFrames: [FixtureFrame]
    public let serverFrames: [FixtureFrame]

    init(directory: String, metaJSON: Data, client: [UInt8], server: [UInt8]) throws {
        self.directory = directory
        self.metaJSON = metaJSON
        self.recording = try FixtureRecording(json: metaJSON)
        self.client = client
        self.server = server
        self.clientFrames = FixtureFrame.frames(client)
        self.serverFrames = FixtureFrame.frames(server)
    }

    /// Every closed connection (its `meta.json` is written) recorded under `directory` by a
    /// listener's `record:`, oldest first.
    public static func all(in directory: String) throws -> [RecordedConnection] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        var connections: [RecordedConnection] = []
        for entry in entries {
            let path = "\(directory)/\(entry)"
            guard let meta = FileManager.default.contents(atPath: "\(path)/meta.json") else { continue }
            // The tee writes meta.json in place (created, then written; rewritten when the recording
            // ends), so a read that races the write finds it empty or half written: that recording is
            // not closed yet, and a later read finds it whole.
            guard
                let connection = try? RecordedConnection(
                    directory: path,
                    metaJSON: meta,
                    client: FileManager.default.contents(atPath: "\(path)/client.bin").map(Array.init) ?? [],
                    server: FileManager.default.contents(atPath: "\(path)/server.bin").map(Array.init) ?? []
                )
            else { continue }
            // meta.json is written when a recording starts; a closed connection's says finished.
            guard connection.recording.finished != false else { continue }
            connections.append(connection)
        }
        return connections.sorted { ($0.recording.connection ?? 0) < ($1.recording.connection ?? 0) }
    }

    /// The `request` of the first client frame, if it is a JSON request.
    public var request: String? { self.clientFrames.first?.json?["request"] as? String }

    /// Frame kinds, client frame then server frame, alternating as the exchange went.
    public var requestTypes: [String] {
        var kinds: [String] = []
        for index in 0..<max(self.clientFrames.count, self.serverFrames.count) {
            if index < self.clientFrames.count { kinds.append(self.clientFrames[index].kind(fromClient: true)) }
            if index < self.serverFrames.count { kinds.append(self.serverFrames[index].kind(fromClient: false)) }
        }
        return kinds
    }

    /// The `data` (or proxy `history data`) rows of the client's JSON frames.
    public var dataRows: [[String: Any]] {
        self.clientFrames.flatMap { frame -> [[String: Any]] in
            guard let json = frame.json else { return [] }
            return (json["data"] as? [[String: Any]]) ?? (json["history data"] as? [[String: Any]]) ?? []
        }
    }

    public static func flagsText(_ frames: [FixtureFrame]) -> [String] {
        var seen: [String] = []
        for frame in frames {
            let text = "0x" + (frame.flags < 16 ? "0" : "") + String(frame.flags, radix: 16)
            if !seen.contains(text) { seen.append(text) }
        }
        return seen
    }

    /// Copies `client.bin` and `server.bin` to `Fixtures/<name>/` (replacing what was there)
    /// and writes `meta` as its `meta.json`.
    public func save(as name: String, meta: FixtureMeta) throws {
        let target = "\(FixtureFiles.root)/\(name)"
        try? FileManager.default.removeItem(atPath: target)
        try FileManager.default.createDirectory(atPath: target, withIntermediateDirectories: true)
        try Data(self.client).write(to: URL(fileURLWithPath: "\(target)/client.bin"))
        try Data(self.server).write(to: URL(fileURLWithPath: "\(target)/server.bin"))
        var data = try FixtureMeta.encoder.encode(meta)
        data.append(0x0A)
        try data.write(to: URL(fileURLWithPath: "\(target)/meta.json"))
    }
}

extension Dictionary where Key == String, Value == Any {
    /// An integer field written as a JSON number or a numeric string.
    public func int64(_ key: String) -> Int64? {
        if let number = self[key] as? NSNumber { return number.int64Value }
        if let text = self[key] as? String { return Int64(text) }
        return nil
    }

    public func string(_ key: String) -> String? { self[key] as? String }
}
