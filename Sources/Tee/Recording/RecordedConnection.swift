import Foundation

/// One connection as a listener's `record:` option writes it: a directory holding `client.bin`
/// (the bytes the client sent), `server.bin` (the bytes the target answered) and `meta.json`.
///
/// The format is stated here once: ``RecordingWriter`` takes its file names from this type, and
/// the `decode` and `replay` commands read recordings only through it.
public struct RecordedConnection: Sendable {
    /// The bytes the client sent, in order.
    public static let clientFile = "client.bin"
    /// The bytes the target sent back, in order.
    public static let serverFile = "server.bin"
    /// What the connection was and how much of it was recorded (``RecordingMeta``).
    public static let metaFile = "meta.json"

    /// The name the recording is reported under.
    public var name: String
    public var client: [UInt8]
    public var server: [UInt8]
    /// Whether replaying the client bytes should get the same reply: `meta.json`'s
    /// `deterministic`, true when the file or the field is absent (hand-made recordings).
    public var deterministic: Bool

    public init(name: String, client: [UInt8], server: [UInt8], deterministic: Bool = true) {
        self.name = name
        self.client = client
        self.server = server
        self.deterministic = deterministic
    }

    /// The recording in `directory`, or `nil` when it holds no `client.bin`.
    public static func read(directory: String, name: String) -> RecordedConnection? {
        let files = FileManager.default
        guard let client = files.contents(atPath: directory + "/" + Self.clientFile) else { return nil }
        let server = files.contents(atPath: directory + "/" + Self.serverFile) ?? Data()
        var deterministic = true
        if let meta = files.contents(atPath: directory + "/" + Self.metaFile),
            let object = try? JSONSerialization.jsonObject(with: meta) as? [String: Any],
            let flag = object["deterministic"] as? Bool
        {
            deterministic = flag
        }
        return RecordedConnection(
            name: name,
            client: Array(client),
            server: Array(server),
            deterministic: deterministic
        )
    }

    /// The recordings in a directory of recordings, in name order (entries without `client.bin`
    /// are skipped), each named by its entry; `nil` when `directory` cannot be listed.
    public static func readAll(in directory: String) -> [RecordedConnection]? {
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: directory) else { return nil }
        return entries.sorted().compactMap { self.read(directory: directory + "/" + $0, name: $0) }
    }
}
