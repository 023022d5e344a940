/// A listener whose accept queue is full, so further connects get no answer (SYNs dropped)
/// and time out: how an unreachable or overloaded server looks, on loopback.
public final class BlackHoleListener: Sendable {
    let listener: BlockingListener
    let fillers: [BlockingSocket]
    public var port: Int { self.listener.port }

    public init() throws {
        let listener = try BlockingListener(backlog: 0)
        self.listener = listener
        // With backlog 0 the kernel queues one connection; more (not waited for) make sure it is full.
        self.fillers =
            try [BlockingSocket.connect(port: listener.port)]
            + (0..<2).map { _ in try BlockingSocket.connectWithoutWaiting(port: listener.port) }
    }

    public func close() {
        for filler in self.fillers { filler.close() }
        self.listener.close()
    }
}
