import Foundation
import Relay
import Riemann

extension TeeDaemon {
    /// The figures self-monitoring reports, read from the same statistics as `/metrics`.
    func selfMonitoringSample() -> SelfMonitoringSample {
        let (listeners, retired) = self.running.value.withLock { ($0.listeners, $0.retired) }
        func sample(_ listener: RelayListener, accepting: Bool) -> SelfMonitoringSample.Listener {
            let statistics = listener.statistics
            return SelfMonitoringSample.Listener(
                name: listener.name,
                openConnections: listener.openConnections,
                acceptedConnections: statistics.connectionsAccepted,
                bytesClientToServer: statistics.bytesRelayed(.clientToServer),
                bytesServerToClient: statistics.bytesRelayed(.serverToClient),
                healthyTargets: listener.healthyTargetCount,
                targets: listener.targetPool.targets.count,
                accepting: accepting
            )
        }
        let queue = self.riemann?.statistics.queue
        return SelfMonitoringSample(
            monotonicSeconds: Double(DispatchTime.now().uptimeNanoseconds) / 1e9,
            listeners: listeners.map { sample($0, accepting: true) } + retired.map { sample($0, accepting: false) },
            itemValues: self.pipeline?.statistics.itemValueCount,
            catalogEntries: self.pipeline?.catalog.entryCount,
            eventsDropped: queue?.droppedTotal ?? 0,
            riemannQueueDepth: queue?.depth ?? 0,
            riemannQueueCapacity: queue?.capacity ?? 0,
            riemannQueueBytes: queue?.bytes ?? 0,
            riemannQueueMaximumBytes: queue?.maximumBytes ?? 0
        )
    }

    /// Every `riemann.self_monitoring.interval`, queues the report events on the Riemann client
    /// (they skip the mapping rules; a full queue drops them like any other event). Reads the
    /// configuration at each tick, so a reload turns it on or off and changes its settings.
    /// Runs until cancelled.
    func runSelfMonitoring(riemann: RiemannClient) async {
        var previous = self.selfMonitoringSample()
        while !Task.isCancelled {
            guard let configuration = self.configuration.selfMonitoring else {
                do { try await Task.sleep(for: .seconds(1)) } catch { return }
                previous = self.selfMonitoringSample()
                continue
            }
            do { try await Task.sleep(for: configuration.interval) } catch { return }
            let current = self.selfMonitoringSample()
            let now = Int64(Date().timeIntervalSince1970 * 1_000_000)
            riemann.enqueue(
                SelfMonitoringReport.events(
                    previous: previous,
                    current: current,
                    configuration: configuration,
                    timeMicros: now
                )
            )
            previous = current
        }
    }
}
