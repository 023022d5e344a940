import Synchronization

/// The set of ``MetricsSource``s behind `/metrics`.
///
/// Each process (or each test) creates its own exporter and hands it to ``AdminServer``; there is
/// no global registry, so tests and configuration reloads stay isolated. Sources can be added
/// and removed at any time, e.g. when a reload replaces the relay listeners.
public final class MetricsExporter: Sendable {
    /// Identifies a registered source for ``unregister(_:)``.
    public struct Registration: Sendable, Hashable {
        fileprivate let id: Int
    }

    private struct State {
        var sources: [(id: Int, source: any MetricsSource)] = []
        var nextID = 0
    }

    private let state = Mutex(State())

    /// - Parameter sources: sources collected in this order at every scrape.
    public init(sources: [any MetricsSource] = []) {
        for source in sources {
            self.register(source)
        }
    }

    /// Adds a source; its metrics appear from the next scrape on.
    @discardableResult
    public func register(_ source: any MetricsSource) -> Registration {
        self.state.withLock { state in
            let id = state.nextID
            state.nextID += 1
            state.sources.append((id, source))
            return Registration(id: id)
        }
    }

    /// Adds a closure as a source.
    @discardableResult
    public func register(_ body: @escaping @Sendable (inout MetricsSnapshot) -> Void) -> Registration {
        self.register(ClosureMetricsSource(body))
    }

    /// Removes a source registered earlier; does nothing if it is already gone.
    public func unregister(_ registration: Registration) {
        self.state.withLock { state in
            state.sources.removeAll { $0.id == registration.id }
        }
    }

    /// Collects every source now. The lock is not held while sources run.
    public func collect() -> MetricsSnapshot {
        let sources = self.state.withLock { $0.sources.map(\.source) }
        var snapshot = MetricsSnapshot()
        for source in sources {
            source.collect(into: &snapshot)
        }
        return snapshot
    }

    /// Collects every source and renders the Prometheus text format 0.0.4.
    public func render() -> String {
        PrometheusTextWriter.render(self.collect())
    }
}
