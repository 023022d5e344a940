import Foundation

/// Runs blocking test peers on their own threads and collects what they return.
///
/// Blocking socket peers must not run on Swift concurrency's cooperative pool (two threads on
/// these machines); these helpers put each on a thread of its own and let async tests await them.
public enum TestThreads {
    /// Runs `body(index)` for `count` indices, each on its own thread, and awaits all of them.
    /// Throws the first error (by index) any of them threw.
    public static func run<T: Sendable>(_ count: Int, _ body: @escaping @Sendable (Int) throws -> T) async throws -> [T]
    {
        let handles = (0..<count).map { index in self.start { try body(index) } }
        var results: [T] = []
        results.reserveCapacity(count)
        for handle in handles {
            results.append(try await handle.value)
        }
        return results
    }

    /// Starts `body` on its own thread; await ``Handle/value`` for its result.
    public static func start<T: Sendable>(_ body: @escaping @Sendable () throws -> T) -> Handle<T> {
        let handle = Handle<T>()
        let thread = Thread { handle.complete(Result { try body() }) }
        thread.stackSize = 512 * 1024
        thread.start()
        return handle
    }

    /// The eventual result of a thread started with ``start(_:)``.
    public final class Handle<T: Sendable>: @unchecked Sendable {
        private let lock = NSLock()
        private var result: Result<T, any Error>?
        private var waiters: [CheckedContinuation<Result<T, any Error>, Never>] = []
        private var blockingWaiters: [(Result<T, any Error>) -> Void] = []

        func complete(_ result: Result<T, any Error>) {
            let (waiters, blocking) = self.lock.withLock {
                self.result = result
                defer {
                    self.waiters = []
                    self.blockingWaiters = []
                }
                return (self.waiters, self.blockingWaiters)
            }
            for waiter in waiters { waiter.resume(returning: result) }
            for waiter in blocking { waiter(result) }
        }

        /// Blocks the calling *thread* (never call from async code) until the thread finished.
        public func waitBlocking() throws -> T {
            let semaphore = DispatchSemaphore(value: 0)
            let box = UncheckedBox<Result<T, any Error>?>(nil)
            let ready = self.lock.withLock { () -> Result<T, any Error>? in
                if let result = self.result { return result }
                self.blockingWaiters.append({ result in
                    box.value = result
                    semaphore.signal()
                })
                return nil
            }
            if let ready { return try ready.get() }
            semaphore.wait()
            return try box.value!.get()
        }

        /// Whether the thread has finished.
        public var isFinished: Bool { self.lock.withLock { self.result != nil } }

        /// The thread's result; rethrows what it threw.
        public var value: T {
            get async throws {
                let result = await withCheckedContinuation { continuation in
                    let ready = self.lock.withLock { () -> Result<T, any Error>? in
                        if let result = self.result { return result }
                        self.waiters.append(continuation)
                        return nil
                    }
                    if let ready { continuation.resume(returning: ready) }
                }
                return try result.get()
            }
        }
    }
}

/// The same as ``TestThreads`` for code that already runs on a thread of its own.
public enum TestThreadsSync {
    /// Runs `body(index)` on `count` threads and blocks the calling thread until all finished.
    public static func run<T: Sendable>(_ count: Int, _ body: @escaping @Sendable (Int) throws -> T) throws -> [T] {
        let handles = (0..<count).map { index in TestThreads.start { try body(index) } }
        return try handles.map { try $0.waitBlocking() }
    }
}

final class UncheckedBox<T>: @unchecked Sendable {
    var value: T
    init(_ value: T) { self.value = value }
}

public struct TimeoutError: Error, CustomStringConvertible {
    public var what: String
    public var seconds: Double
    public init(what: String, seconds: Double) {
        self.what = what
        self.seconds = seconds
    }
    public var description: String { "\(self.what) did not happen within \(self.seconds) s" }
}

/// Polls `condition` every 5 ms until it holds or `timeout` passes; returns whether it held.
public func eventually(timeout seconds: Double = 10, _ condition: () -> Bool) async -> Bool {
    let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
    while ContinuousClock.now < deadline {
        if condition() { return true }
        try? await Task.sleep(for: .milliseconds(5))
    }
    return condition()
}
