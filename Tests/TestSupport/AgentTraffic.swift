import Foundation
import Synchronization

/// Healthy agents running beside a fault: `clients` threads doing ``AgentExchange`` exchanges
/// back to back until ``stop()`` (at least one each), every reply checked.
public final class AgentTraffic: Sendable {
    /// What the healthy agents saw.
    public struct Counts: Sendable, CustomStringConvertible {
        public var identical = 0
        public var mismatches = 0
        public var failures: [String] = []
        public var description: String {
            "\(self.identical) identical, \(self.mismatches) mismatched, \(self.failures.count) failed \(self.failures.prefix(3))"
        }
    }

    private let stopped = Atomic<Bool>(false)
    private let counts = Mutex(Counts())
    private let threads = Mutex<[TestThreads.Handle<Void>]>([])

    private init() {}

    /// Starts the agents; agent numbers are `firstAgent ..< firstAgent + clients`.
    public static func start(port: Int, clients: Int, firstAgent: Int = 0) -> AgentTraffic {
        let traffic = AgentTraffic()
        let threads = (0..<clients).map { index in
            TestThreads.start {
                var sequence = 0
                // At least one exchange per agent, however late its thread starts.
                repeat {
                    let request = AgentExchange.request(agent: firstAgent + index, sequence: sequence)
                    let outcome = AgentExchange.exchange(port: port, request: request)
                    traffic.counts.withLock { counts in
                        switch outcome {
                        case .identical: counts.identical += 1
                        case .mismatch: counts.mismatches += 1
                        case .failed(let why): counts.failures.append(why)
                        }
                    }
                    sequence += 1
                } while !traffic.stopped.load(ordering: .relaxed)
            }
        }
        traffic.threads.withLock { $0 = threads }
        return traffic
    }

    /// Stops after the exchanges under way and returns the counts.
    public func stop() async throws -> Counts {
        self.stopped.store(true, ordering: .relaxed)
        for thread in self.threads.withLock({ $0 }) { try await thread.value }
        return self.counts.withLock { $0 }
    }
}
