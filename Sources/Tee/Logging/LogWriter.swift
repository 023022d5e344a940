import Foundation
import Synchronization

/// The tee's log output: log lines go into a bounded buffer and a thread of its own writes them
/// to a file descriptor (standard error).
///
/// Whatever happens to that descriptor, logging never blocks or kills the caller — an event
/// loop relaying Zabbix traffic, a decode worker:
/// - slow or full (a pipe nobody reads, a stalled journald): the writer thread waits, the buffer
///   fills, and further lines are dropped and counted (``droppedLines``) until it drains;
/// - closed (EPIPE) or failing (ENOSPC on a redirected file): SIGPIPE is ignored, the lines are
///   dropped and counted, and later lines are tried again;
/// - non-blocking (EAGAIN): the writer thread waits for it to become writable.
///
/// Lines are written whole and in order; a batch of lines taken together is one `write(2)`.
public final class LogWriter: @unchecked Sendable {
    /// Standard error, 1 MiB of buffered lines at most. Used by both `--log-format`s.
    public static let standardError = LogWriter(descriptor: 2, capacityBytes: 1 << 20)

    private let descriptor: Int32
    /// Bytes of lines waiting, at most.
    public let capacityBytes: Int
    private let condition = NSCondition()
    // Guarded by `condition`:
    private var buffer: [UInt8] = []
    private var bufferedLines = 0
    private var writing = false
    private var threadStarted = false
    private let dropped = Atomic<Int>(0)
    private let written = Atomic<Int>(0)

    /// - Parameters:
    ///   - descriptor: where lines go; not closed by the writer.
    ///   - capacityBytes: bytes of lines held while the descriptor does not take them.
    public init(descriptor: Int32, capacityBytes: Int) {
        self.descriptor = descriptor
        self.capacityBytes = capacityBytes
    }

    /// Lines dropped because the buffer was full or the descriptor refused them
    /// (`zabbix_tee_log_lines_dropped_total`).
    public var droppedLines: Int { self.dropped.load(ordering: .relaxed) }

    /// Lines written so far.
    public var writtenLines: Int { self.written.load(ordering: .relaxed) }

    /// Queues one line (it should end with a newline). Never blocks: when the buffer is full the
    /// line is dropped and counted.
    public func write(line: some Collection<UInt8>) {
        self.condition.lock()
        guard self.buffer.count + line.count <= self.capacityBytes else {
            self.condition.unlock()
            self.dropped.add(1, ordering: .relaxed)
            return
        }
        self.buffer.append(contentsOf: line)
        self.bufferedLines += 1
        let start = !self.threadStarted
        self.threadStarted = true
        self.condition.signal()
        self.condition.unlock()
        if start { self.startThread() }
    }

    /// Waits until every line queued so far is written (or dropped), at most `timeout`. Returns
    /// whether the buffer drained in time. Called before the process exits, so the last lines
    /// are not lost with it.
    @discardableResult
    public func flush(timeout: Duration) -> Bool {
        let (seconds, attoseconds) = timeout.components
        let deadline = Date(timeIntervalSinceNow: Double(seconds) + Double(attoseconds) / 1e18)
        self.condition.lock()
        defer { self.condition.unlock() }
        while !self.buffer.isEmpty || self.writing {
            if !self.condition.wait(until: deadline) { return self.buffer.isEmpty && !self.writing }
        }
        return true
    }

    private func startThread() {
        ignoreBrokenPipes()
        let thread = Thread { [self] in self.run() }
        thread.name = "zabbix-tee-log"
        thread.start()
    }

    private func run() {
        var batch: [UInt8] = []
        while true {
            self.condition.lock()
            while self.buffer.isEmpty { self.condition.wait() }
            swap(&batch, &self.buffer)
            let lines = self.bufferedLines
            self.bufferedLines = 0
            self.writing = true
            self.condition.unlock()

            let (_, error) = DescriptorWriting.writeAll(batch, to: self.descriptor)
            if error == nil {
                self.written.add(lines, ordering: .relaxed)
            } else {
                // Part of the batch may have gone out; the lines are counted as lost all the same
                // (the count errs on the side of reporting a problem).
                self.dropped.add(lines, ordering: .relaxed)
            }
            batch.removeAll(keepingCapacity: batch.capacity <= self.capacityBytes)

            self.condition.lock()
            self.writing = false
            self.condition.broadcast()
            self.condition.unlock()
        }
    }
}

extension LogWriter {
    /// A `TextOutputStream` onto a ``LogWriter``, for swift-log's `StreamLogHandler`, which writes
    /// each log line with one `write` call.
    public struct Stream: TextOutputStream, Sendable {
        let writer: LogWriter

        public init(_ writer: LogWriter) {
            self.writer = writer
        }

        public mutating func write(_ string: String) {
            guard !string.isEmpty else { return }
            self.writer.write(line: string.utf8)
        }
    }
}
