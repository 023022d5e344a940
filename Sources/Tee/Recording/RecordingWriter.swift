import Foundation
import LogThrottling
import Logging
import NIOCore
import Relay
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// The thread that writes the recordings of one directory.
///
/// Nothing here can slow the relay or take the process down:
/// - the event loops hand buffers over through a bounded queue (64 MiB) and never wait; when it
///   is full the recording is cut at that point (`incomplete_reason: queue_full`);
/// - files are written with `write(2)` and every error is handled: a write error (ENOSPC, EIO)
///   stops that recording (`write_error`, with the system's wording in `error`), is counted in
///   `zabbix_tee_recording_write_errors_total` and logged at most once a minute;
/// - `max_bytes` / `max_files` stop recording, never rotate (``RecordingConfiguration``);
/// - the directory is created 0700 and refused if another user owns it or anyone may write to it
///   (``RecordingDirectory``); recording directories are 0700, files 0600, created with
///   `O_EXCL|O_NOFOLLOW`;
/// - `meta.json` is written when a recording starts and replaced when it ends, so a recording cut
///   short (full disk, crash) still has one (``RecordingMeta``). ``shutdown()`` finishes the
///   recordings still open.
final class RecordingWriter: @unchecked Sendable {
    enum Record: @unchecked Sendable {
        case open(RelayConnectionInfo)
        case bytes(UInt64, RelayDirection, ByteBuffer)
        /// The connection's bytes stop here: the queue refused some.
        case truncated(UInt64)
        case close(UInt64)
    }

    /// Warnings logged at most once per interval each.
    enum Warning: Hashable, Sendable {
        case writeFailed, limitReached, cannotCreate, queueFull, directoryRefused
    }

    /// A recording being written (touched by the writer thread only).
    private struct OpenRecording {
        var directory: String
        var client: Int32
        var server: Int32
        var meta: RecordingMeta
        /// `meta.json` exists (it is rewritten in place from then on).
        var metaWritten = false
        /// Still writing bytes (not stopped early).
        var writing: Bool { self.client >= 0 }
    }

    let path: String
    private let limits: Mutex<RecordingConfiguration>
    private let statistics: RecordingStatistics
    private let logger: Logger
    private let warnings: LogThrottle<Warning>
    private let queue = SideQueue<Record>(maximumItems: 100_000, bytes: ByteBudget(limit: 64 << 20))
    private let done = Mutex<(finished: Bool, waiters: [CheckedContinuation<Void, Never>])>((false, []))
    // Writer thread only:
    private var budget = RecordingBudget(maximumBytes: 0, maximumRecordings: 0)
    private var refusal: String?
    private var active: [UInt64: OpenRecording] = [:]

    init(
        configuration: RecordingConfiguration,
        statistics: RecordingStatistics,
        logger: Logger,
        warningInterval: TimeAmount = .seconds(60)
    ) {
        self.path = configuration.path
        self.limits = Mutex(configuration)
        self.statistics = statistics
        self.logger = logger
        self.warnings = LogThrottle(interval: warningInterval)
        let thread = Thread { [self] in self.run() }
        thread.name = "zabbix-tee-record"
        thread.start()
    }

    /// New limits (a reload changed `max_bytes` / `max_files`), from the next connection on.
    func update(_ configuration: RecordingConfiguration) {
        self.limits.withLock { $0 = configuration }
    }

    /// Queues a record; returns false when the queue refused bytes (control records always fit,
    /// one or two per connection).
    @discardableResult
    func submit(_ record: Record) -> Bool {
        if case .bytes(_, _, let buffer) = record {
            return self.queue.offer(record, bytes: buffer.readableBytes)
        }
        return self.queue.offer(record, bytes: 0, control: true)
    }

    /// Writes what is queued, finishes the recordings still open (`incomplete_reason: shutdown`
    /// unless their connection closed meanwhile) and stops the thread.
    func shutdown() async {
        self.queue.close()
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let finished = self.done.withLock { state in
                if !state.finished { state.waiters.append(continuation) }
                return state.finished
            }
            if finished { continuation.resume() }
        }
    }

    // MARK: The writer thread

    private func run() {
        switch RecordingDirectory.prepare(self.path) {
        case .failure(let error):
            self.refusal = "cannot create the directory: \(error)"
        case .success(let findings) where !findings.isEmpty:
            self.refusal =
                "the directory \(findings.map(\.description).joined(separator: " and ")); recordings hold monitored data in clear"
        case .success:
            let usage = RecordingDirectory.usage(of: self.path)
            self.budget = RecordingBudget(
                maximumBytes: 0,
                maximumRecordings: 0,
                usedBytes: usage.bytes,
                usedRecordings: usage.recordings
            )
        }
        if let refusal = self.refusal {
            self.logger.error("not recording: \(refusal)", metadata: ["path": "\(self.path)"])
        }
        while let records = self.queue.takeAll(timeout: .seconds(1)) {
            for record in records.joined() {
                self.handle(record)
            }
        }
        for id in Array(self.active.keys) {
            self.finish(id, reason: .shutdown)
        }
        let waiters = self.done.withLock { state in
            state.finished = true
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.resume() }
    }

    private func handle(_ record: Record) {
        switch record {
        case .open(let info):
            self.start(info)
        case .bytes(let id, let direction, let buffer):
            self.queue.release(bytes: buffer.readableBytes)
            self.write(buffer, direction: direction, to: id)
        case .truncated(let id):
            self.warnings.warning(
                .queueFull,
                "recording cut short: the disk did not keep up with the connection (relaying is unaffected)",
                logger: self.logger,
                metadata: ["path": "\(self.path)", "connection": "\(id)"]
            )
            self.stop(id, reason: .queueFull, error: nil)
        case .close(let id):
            self.finish(id, reason: nil)
        }
    }

    private func start(_ info: RelayConnectionInfo) {
        let metadata: Logger.Metadata = [
            "path": "\(self.path)", "listener": "\(info.listener)", "connection": "\(info.id)",
        ]
        if let refusal = self.refusal {
            self.statistics.skipped(listener: info.listener, reason: .error)
            self.warnings.warning(
                .directoryRefused,
                "not recording: \(refusal)",
                logger: self.logger,
                metadata: metadata
            )
            return
        }
        let limits = self.limits.withLock { $0 }
        self.budget.maximumBytes = limits.maximumBytes
        self.budget.maximumRecordings = limits.maximumRecordings
        guard self.budget.admitRecording() else {
            self.statistics.skipped(listener: info.listener, reason: .limit)
            self.warnings.warning(
                .limitReached,
                "recording limit reached (record.max_bytes or record.max_files); new connections are not recorded until old recordings are removed",
                logger: self.logger,
                metadata: metadata.merging([
                    "max_bytes": "\(limits.maximumBytes)", "max_files": "\(limits.maximumRecordings)",
                    "used_bytes": "\(self.budget.usedBytes)", "used_files": "\(self.budget.usedRecordings)",
                ]) { $1 }
            )
            return
        }
        let directory = "\(self.path)/\(Self.stamp(Date()))-\(info.id)"
        guard mkdir(directory, 0o700) == 0 else {
            self.cannotCreate(directory, error: .current, info: info)
            return
        }
        let client = Self.create("\(directory)/\(RecordedConnection.clientFile)")
        let server = Self.create("\(directory)/\(RecordedConnection.serverFile)")
        guard client >= 0, server >= 0 else {
            let error = SystemError.current
            if client >= 0 { close(client) }
            if server >= 0 { close(server) }
            self.cannotCreate(directory, error: error, info: info)
            return
        }
        var recording = OpenRecording(
            directory: directory,
            client: client,
            server: server,
            meta: RecordingMeta(info: info, started: Date())
        )
        if let error = self.writeMeta(&recording) {
            // No meta.json, no recording: a directory that does not say what it holds is removed.
            Self.closeFiles(&recording)
            for file in [RecordedConnection.metaFile, RecordedConnection.clientFile, RecordedConnection.serverFile] {
                unlink("\(directory)/\(file)")
            }
            rmdir(directory)
            self.cannotCreate(directory, error: error, info: info)
            return
        }
        self.active[info.id] = recording
    }

    private func write(_ buffer: ByteBuffer, direction: RelayDirection, to id: UInt64) {
        guard var recording = self.active[id], recording.writing else { return }
        let granted = self.budget.grant(bytes: buffer.readableBytes)
        let descriptor = direction == .clientToServer ? recording.client : recording.server
        let (written, error) = buffer.withUnsafeReadableBytes { bytes in
            DescriptorWriting.writeAll(UnsafeRawBufferPointer(rebasing: bytes[..<granted]), to: descriptor)
        }
        if direction == .clientToServer {
            recording.meta.clientBytes += written
        } else {
            recording.meta.serverBytes += written
        }
        self.active[id] = recording
        if let error {
            self.statistics.writeFailed(listener: recording.meta.info.listener)
            self.warnings.warning(
                .writeFailed,
                "cannot write a recording; it stops here (relaying is unaffected)",
                logger: self.logger,
                metadata: ["path": "\(recording.directory)", "connection": "\(id)", "error": "\(error)"]
            )
            self.stop(id, reason: .writeError, error: "\(error)")
        } else if granted < buffer.readableBytes {
            self.stop(id, reason: .maximumBytes, error: nil)
        }
    }

    /// Stops writing a recording early; its `meta.json` says why.
    private func stop(_ id: UInt64, reason: RecordingMeta.IncompleteReason, error: String?) {
        guard var recording = self.active[id], recording.writing else { return }
        Self.closeFiles(&recording)
        recording.meta.incompleteReason = reason
        recording.meta.error = error
        self.writeMeta(&recording)
        self.active[id] = recording
    }

    /// The recording ends: the connection closed (`reason` nil) or the tee shuts down.
    private func finish(_ id: UInt64, reason: RecordingMeta.IncompleteReason?) {
        guard var recording = self.active.removeValue(forKey: id) else { return }
        if recording.writing {
            Self.closeFiles(&recording)
            recording.meta.incompleteReason = reason
        }
        recording.meta.finished = true
        self.writeMeta(&recording)
        self.statistics.finished(listener: recording.meta.info.listener, complete: recording.meta.complete)
    }

    /// Writes `meta.json`: created with the recording, then rewritten in place. In place, not
    /// through a temporary file: the file's first block is already allocated, so the rewrite
    /// that says `write_error` succeeds on the very disk that just filled up.
    /// Returns the error when it could not be written (the previous `meta.json` stays).
    @discardableResult
    private func writeMeta(_ recording: inout OpenRecording) -> SystemError? {
        let bytes = recording.meta.rendered()
        let path = "\(recording.directory)/\(RecordedConnection.metaFile)"
        let descriptor: Int32
        if recording.metaWritten {
            descriptor = Glibc.open(path, O_WRONLY | O_NOFOLLOW | O_CLOEXEC)
        } else {
            descriptor = Self.create(path)
            self.budget.charge(bytes: bytes.count)
        }
        guard descriptor >= 0 else { return .current }
        defer { close(descriptor) }
        let written = bytes.withUnsafeBytes { pwrite(descriptor, $0.baseAddress, $0.count, 0) }
        guard written == bytes.count else { return written < 0 ? .current : SystemError(code: ENOSPC) }
        _ = ftruncate(descriptor, off_t(bytes.count))
        recording.metaWritten = true
        return nil
    }

    private func cannotCreate(_ directory: String, error: SystemError, info: RelayConnectionInfo) {
        self.statistics.skipped(listener: info.listener, reason: .error)
        self.warnings.warning(
            .cannotCreate,
            "cannot create a recording; this connection is not recorded (relaying is unaffected)",
            logger: self.logger,
            metadata: ["path": "\(directory)", "connection": "\(info.id)", "error": "\(error)"]
        )
    }

    private static func closeFiles(_ recording: inout OpenRecording) {
        if recording.client >= 0 { close(recording.client) }
        if recording.server >= 0 { close(recording.server) }
        recording.client = -1
        recording.server = -1
    }

    private static func create(_ path: String) -> Int32 {
        Glibc.open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
    }

    private static func stamp(_ date: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyyMMdd'T'HHmmss.SSS"
        return formatter.string(from: date)
    }
}
