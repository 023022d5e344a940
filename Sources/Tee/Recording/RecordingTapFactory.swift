import Foundation
import Logging
import NIOCore
import Relay

/// The `record:` option of a listener: every connection is written to
/// `<directory>/<time>-<id>/` as `client.bin` (bytes from the connecting side), `server.bin`
/// (bytes from the target) and `meta.json` — the fixture format the tests replay, and what a user
/// can attach to a bug report.
///
/// Writing happens on a thread of its own behind a bounded queue (64 MiB): if the disk cannot
/// keep up, the recording is marked incomplete in `meta.json` and the relay is not slowed.
/// Directories are created 0700 and files 0600: recordings hold the monitored data.
struct RecordingTapFactory: RelayTapFactory {
    let writer: RecordingWriter

    init(directory: String, logger: Logger) {
        self.writer = RecordingWriter(directory: directory, logger: logger)
    }

    func makeTap(for connection: RelayConnectionInfo) -> (any RelayConnectionTap)? {
        RecordingTap(writer: self.writer, connection: connection)
    }
}

final class RecordingTap: RelayConnectionTap {
    private let writer: RecordingWriter
    private let id: UInt64

    init(writer: RecordingWriter, connection: RelayConnectionInfo) {
        self.writer = writer
        self.id = connection.id
        writer.submit(.open(connection))
    }

    func observe(_ bytes: ByteBuffer, direction: RelayDirection) throws {
        self.writer.submit(.bytes(self.id, direction, bytes))
    }

    func connectionClosed() {
        self.writer.submit(.close(self.id))
    }
}

/// The thread that writes recordings.
final class RecordingWriter: @unchecked Sendable {
    enum Record: @unchecked Sendable {
        case open(RelayConnectionInfo)
        case bytes(UInt64, RelayDirection, ByteBuffer)
        case close(UInt64)
    }

    private struct Open {
        var directory: String
        var client: FileHandle?
        var server: FileHandle?
        var info: RelayConnectionInfo
        var bytes: [RelayDirection: Int] = [:]
        var started: Date
    }

    private let directory: String
    private let logger: Logger
    private let queue = SideQueue<Record>(maximumItems: 100_000, bytes: ByteBudget(limit: 64 << 20))
    private let lock = NSLock()
    private var incomplete = Set<UInt64>()
    private var open: [UInt64: Open] = [:]

    init(directory: String, logger: Logger) {
        self.directory = directory
        self.logger = logger
        mkdir(directory, 0o700)
        let thread = Thread { [self] in self.run() }
        thread.name = "zabbix-tee-record"
        thread.start()
    }

    func submit(_ record: Record) {
        let size: Int
        let id: UInt64
        switch record {
        case .open(let info): (size, id) = (0, info.id)
        case .bytes(let connection, _, let buffer): (size, id) = (buffer.readableBytes, connection)
        case .close(let connection): (size, id) = (0, connection)
        }
        let control: Bool
        if case .bytes = record { control = false } else { control = true }
        if !self.queue.offer(record, bytes: size, control: control) {
            self.lock.withLock { _ = self.incomplete.insert(id) }
        }
    }

    private func run() {
        while let records = self.queue.takeAll(timeout: .seconds(1)) {
            for record in records {
                self.write(record)
            }
        }
    }

    private func write(_ record: Record) {
        switch record {
        case .open(let info):
            let stamp = Self.stamp(Date())
            let path = "\(self.directory)/\(stamp)-\(info.id)"
            guard mkdir(path, 0o700) == 0 else {
                self.logger.warning("cannot create a recording directory", metadata: ["path": "\(path)", "errno": "\(errno)"])
                return
            }
            self.open[info.id] = Open(
                directory: path, client: Self.create("\(path)/client.bin"), server: Self.create("\(path)/server.bin"),
                info: info, started: Date())
        case .bytes(let id, let direction, let buffer):
            self.queue.release(bytes: buffer.readableBytes)
            guard var recording = self.open[id] else { return }
            let handle = direction == .clientToServer ? recording.client : recording.server
            buffer.withUnsafeReadableBytes { handle?.write(Data($0)) }
            recording.bytes[direction, default: 0] += buffer.readableBytes
            self.open[id] = recording
        case .close(let id):
            guard let recording = self.open.removeValue(forKey: id) else { return }
            try? recording.client?.close()
            try? recording.server?.close()
            let complete = self.lock.withLock { self.incomplete.remove(id) == nil }
            var meta: [String: Any] = [
                "listener": recording.info.listener,
                "connection": recording.info.id,
                "target": recording.info.target.description,
                "started": ISO8601DateFormatter().string(from: recording.started),
                "client_bytes": recording.bytes[.clientToServer] ?? 0,
                "server_bytes": recording.bytes[.serverToClient] ?? 0,
                "complete": complete,
            ]
            if let client = recording.info.client { meta["client"] = client.displayText }
            if let data = try? JSONSerialization.data(withJSONObject: meta, options: [.prettyPrinted, .sortedKeys]) {
                if let handle = Self.create("\(recording.directory)/meta.json") {
                    handle.write(data)
                    try? handle.close()
                }
            }
        }
    }

    private static func create(_ path: String) -> FileHandle? {
        let fd = Glibc.open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { return nil }
        return FileHandle(fileDescriptor: fd, closeOnDealloc: true)
    }

    private static func stamp(_ date: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyyMMdd'T'HHmmss.SSS"
        return formatter.string(from: date)
    }
}
