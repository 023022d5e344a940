import Foundation
import Logging
import Tee
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The log output never blocks or kills its callers: a full output drops and counts lines, a
/// closed one (EPIPE) too, and both formats go through it.
@Suite(.timeLimit(.minutes(1)))
struct LogWriterTests {
    /// A pipe; the test holds both ends.
    final class Pipe: @unchecked Sendable {
        let read: Int32
        let write: Int32

        init() throws {
            var ends: [Int32] = [0, 0]
            guard pipe(&ends) == 0 else { throw SystemFailure(call: "pipe", code: errno) }
            (self.read, self.write) = (ends[0], ends[1])
            _ = fcntl(self.read, F_SETFD, FD_CLOEXEC)
            _ = fcntl(self.write, F_SETFD, FD_CLOEXEC)
        }

        /// Everything readable now, without waiting (the write end must be closed or drained).
        func drain() -> [UInt8] {
            var bytes: [UInt8] = []
            var chunk = [UInt8](repeating: 0, count: 65536)
            let flags = fcntl(self.read, F_GETFL)
            _ = fcntl(self.read, F_SETFL, flags | O_NONBLOCK)
            while true {
                let n = chunk.withUnsafeMutableBytes { Glibc.read(self.read, $0.baseAddress, $0.count) }
                guard n > 0 else { break }
                bytes += chunk[..<n]
            }
            _ = fcntl(self.read, F_SETFL, flags)
            return bytes
        }

        /// Bytes the pipe holds at most (its capacity).
        var capacity: Int { Int(fcntl(self.write, 1032)) }  // F_GETPIPE_SZ

        deinit {
            close(self.read)
            close(self.write)
        }
    }

    struct SystemFailure: Error {
        var call: String
        var code: Int32
    }

    static func line(_ index: Int, length: Int = 100) -> [UInt8] {
        let prefix = Array("line \(index) ".utf8)
        return prefix + [UInt8](repeating: UInt8(ascii: "x"), count: length - prefix.count - 1) + [0x0A]
    }

    @Test func linesAreWrittenWholeAndInOrder() throws {
        let pipe = try Pipe()
        let writer = LogWriter(descriptor: pipe.write, capacityBytes: 1 << 20)
        for index in 0..<100 { writer.write(line: Self.line(index)) }
        #expect(writer.flush(timeout: .seconds(10)))
        #expect(pipe.drain() == (0..<100).flatMap { Self.line($0) })
        #expect(writer.writtenLines == 100)
        #expect(writer.droppedLines == 0)
    }

    /// Nobody reads the output: the writer thread waits in write(2), the callers do not. Every
    /// line is either written or counted as dropped.
    @Test func aFullOutputDropsAndCountsLinesInsteadOfBlockingTheCaller() throws {
        let pipe = try Pipe()
        let capacity = 16 * 1024
        let writer = LogWriter(descriptor: pipe.write, capacityBytes: capacity)
        // More than the pipe and the buffer hold together.
        let lines = (pipe.capacity + capacity) / 100 * 2
        for index in 0..<lines { writer.write(line: Self.line(index)) }
        #expect(writer.droppedLines > 0, "the buffer is bounded")
        // The reader comes back: what was buffered goes out, in order, nothing torn.
        var received: [UInt8] = []
        while true {
            received += pipe.drain()
            if writer.flush(timeout: .milliseconds(10)) { break }
        }
        received += pipe.drain()
        #expect(received.count % 100 == 0, "whole lines only")
        #expect(received.count / 100 + writer.droppedLines == lines, "every line written or counted")
        #expect(writer.writtenLines == received.count / 100)
        let numbers = stride(from: 0, to: received.count, by: 100).map { start in
            Int(String(decoding: received[start..<start + 100].dropFirst(5).prefix { $0 != 0x20 }, as: UTF8.self)) ?? -1
        }
        #expect(numbers == numbers.sorted(), "in order")
    }

    /// The reading end is gone: write(2) fails with EPIPE (SIGPIPE is ignored, or this test
    /// process would be killed), the lines are counted, and later lines are tried again.
    @Test func aClosedOutputIsCountedNotFatal() throws {
        let pipe = try Pipe()
        close(pipe.read)
        let writer = LogWriter(descriptor: pipe.write, capacityBytes: 1 << 20)
        for index in 0..<50 { writer.write(line: Self.line(index)) }
        #expect(writer.flush(timeout: .seconds(10)))
        #expect(writer.droppedLines == 50)
        #expect(writer.writtenLines == 0)
    }

    @Test(arguments: TeeLogHandlers.Format.allCases)
    func bothFormatsWriteThroughTheWriter(_ format: TeeLogHandlers.Format) throws {
        let pipe = try Pipe()
        let writer = LogWriter(descriptor: pipe.write, capacityBytes: 1 << 20)
        let logger = Logger(label: "zabbix-tee") { label in
            TeeLogHandlers.make(label: label, level: .info, format: format, writer: writer)
        }
        logger.info("relayed", metadata: ["listener": "agents"])
        logger.debug("below the level")
        #expect(writer.flush(timeout: .seconds(10)))
        let text = String(decoding: pipe.drain(), as: UTF8.self)
        let lines = text.split(separator: "\n")
        #expect(lines.count == 1, "\(text)")
        switch format {
        case .text:
            #expect(text.contains(" info zabbix-tee: listener=agents ["), "\(text)")
            #expect(text.hasSuffix("] relayed\n"), "\(text)")
        case .json:
            let object = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: String]
            #expect(object?["message"] == "relayed")
            #expect(object?["listener"] == "agents")
            #expect(object?["level"] == "info")
        }
    }
}
