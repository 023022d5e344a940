import NIOCore
import Relay

/// The `record:` option of a listener: every connection is written to
/// `<directory>/<time>-<id>/` as `client.bin` (bytes from the connecting side), `server.bin`
/// (bytes from the target) and `meta.json` — the fixture format the tests replay, and what a user
/// can attach to a bug report. See ``RecordingWriter`` for how writing fails safely.
struct RecordingTapFactory: RelayTapFactory {
    let writer: RecordingWriter

    func makeTap(for connection: RelayConnectionInfo) -> (any RelayConnectionTap)? {
        RecordingTap(writer: self.writer, connection: connection)
    }
}

/// One connection's recording, fed on its event loop. Never waits: when the recorder's queue is
/// full the recording is cut at that point (a gap would make the files useless) and the rest of
/// the connection is not offered.
final class RecordingTap: RelayConnectionTap {
    private let writer: RecordingWriter
    private let id: UInt64
    private var truncated = false

    init(writer: RecordingWriter, connection: RelayConnectionInfo) {
        self.writer = writer
        self.id = connection.id
        writer.submit(.open(connection))
    }

    func observe(_ bytes: ByteBuffer, direction: RelayDirection) throws {
        guard !self.truncated else { return }
        if !self.writer.submit(.bytes(self.id, direction, bytes)) {
            self.truncated = true
            self.writer.submit(.truncated(self.id))
        }
    }

    func connectionClosed() {
        self.writer.submit(.close(self.id))
    }
}
