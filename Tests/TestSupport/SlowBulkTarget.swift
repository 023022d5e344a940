import Foundation

/// A target that takes a large upload slowly: it accepts in a loop (the readiness probe of
/// ``TeeProcess`` is relayed to it too), reads `total` bytes in 256 KiB chunks with a pause after
/// each, so a transfer through the tee stays under way for seconds, then answers `done`, closes,
/// and keeps the checksum of what it read.
public final class SlowBulkTarget: @unchecked Sendable {
    public var port: Int { self.listener.port }

    private let listener: BlockingListener
    private let completed = Completed()

    /// The checksum of the last complete transfer and the bytes read, shared with the peer threads.
    private final class Completed: @unchecked Sendable {
        private let lock = NSLock()
        private var checksum: StreamChecksum?
        private var bytes = 0
        func set(_ checksum: StreamChecksum) { self.lock.withLock { self.checksum = checksum } }
        func get() -> StreamChecksum? { self.lock.withLock { self.checksum } }
        func read(_ count: Int) { self.lock.withLock { self.bytes += count } }
        var bytesRead: Int { self.lock.withLock { self.bytes } }
    }

    /// - Parameters:
    ///   - total: bytes a transfer carries; a connection that ends sooner gets no answer.
    ///   - pause: pause after each chunk read.
    public init(total: Int, pause: Duration) throws {
        self.listener = try BlockingListener()
        let micros = useconds_t(pause.components.seconds * 1_000_000 + pause.components.attoseconds / 1_000_000_000_000)
        let listener = self.listener
        let completed = self.completed
        _ = TestThreads.start {
            while let socket = try? listener.accept() {
                _ = TestThreads.start { () throws -> Void in
                    var checksum = StreamChecksum()
                    while checksum.length < total {
                        let chunk = try socket.receive(maximum: 256 * 1024)
                        if chunk.isEmpty { break }
                        chunk.withUnsafeBytes { checksum.update($0) }
                        completed.read(chunk.count)
                        usleep(micros)
                    }
                    if checksum.length == total {
                        try socket.send("done")
                        completed.set(checksum)
                    }
                    socket.close()
                }
            }
        }
    }

    /// The checksum of the last complete transfer, `nil` while none has completed.
    public var received: StreamChecksum? { self.completed.get() }

    /// Bytes read so far, over every transfer: more than 0 once one is under way.
    public var receivedBytes: Int { self.completed.bytesRead }

    /// Stops accepting.
    public func close() { self.listener.close() }
}
