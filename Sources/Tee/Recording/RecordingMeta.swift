import Foundation
import Relay

/// A recording's `meta.json`: what the connection was and how much of it was recorded.
///
/// Written when the recording starts (`"finished": false`), so that a recording cut short — a
/// full disk, a crash, SIGKILL — still says what it is, and rewritten (in place) when the
/// recording stops early, and with `"finished": true` (the file no longer changes) when the
/// connection closes or the tee shuts down. `"complete": true` only
/// for a closed connection whose every byte is in `client.bin` and `server.bin`; otherwise
/// `incomplete_reason` says why (`queue_full`, `write_error` with `error`, `max_bytes`,
/// `shutdown`, `open` while the connection lasts).
struct RecordingMeta: Sendable {
    /// Why a recording is not complete.
    enum IncompleteReason: String, Sendable {
        /// The connection is still open.
        case open
        /// The recorder's queue was full (the disk did not keep up): bytes after that point are missing.
        case queueFull = "queue_full"
        /// Writing failed (`error` says how): bytes after that point are missing.
        case writeError = "write_error"
        /// The directory reached `max_bytes`: bytes after that point are missing.
        case maximumBytes = "max_bytes"
        /// The tee shut down before the connection closed.
        case shutdown
    }

    var info: RelayConnectionInfo
    var started: Date
    var clientBytes = 0
    var serverBytes = 0
    /// The recorder is done with this recording: the connection closed or the tee shut down.
    var finished = false
    var incompleteReason: IncompleteReason? = .open
    var error: String?

    var complete: Bool { self.incompleteReason == nil }

    /// The file's bytes: a pretty-printed JSON object with sorted keys.
    func rendered() -> [UInt8] {
        var meta: [String: Any] = [
            "listener": self.info.listener,
            "connection": self.info.id,
            "target": self.info.target.description,
            "started": ISO8601DateFormatter().string(from: self.started),
            "client_bytes": self.clientBytes,
            "server_bytes": self.serverBytes,
            "complete": self.complete,
            "finished": self.finished,
        ]
        if let client = self.info.client { meta["client"] = client.displayText }
        if let reason = self.incompleteReason { meta["incomplete_reason"] = reason.rawValue }
        if let error = self.error { meta["error"] = error }
        let data =
            (try? JSONSerialization.data(withJSONObject: meta, options: [.prettyPrinted, .sortedKeys]))
            ?? Data("{}".utf8)
        return [UInt8](data) + [0x0A]
    }
}
