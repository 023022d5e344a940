import NIOCore
import Relay

/// Several taps on one connection (decoding and recording); each sees every read, and one
/// that throws is dropped without affecting the others.
struct CompositeTapFactory: RelayTapFactory {
    let factories: [any RelayTapFactory]

    init(_ factories: [any RelayTapFactory]) {
        self.factories = factories
    }

    func makeTap(for connection: RelayConnectionInfo) -> (any RelayConnectionTap)? {
        Self.combined(self.factories.compactMap { $0.makeTap(for: connection) })
    }

    func makeTap(for connection: RelayConnectionInfo, on loop: RelayTapLoop) -> (any RelayConnectionTap)? {
        Self.combined(self.factories.compactMap { $0.makeTap(for: connection, on: loop) })
    }

    private static func combined(_ taps: [any RelayConnectionTap]) -> (any RelayConnectionTap)? {
        taps.isEmpty ? nil : CompositeTap(taps: taps)
    }
}

final class CompositeTap: RelayConnectionTap {
    private var taps: [any RelayConnectionTap]

    init(taps: [any RelayConnectionTap]) {
        self.taps = taps
    }

    func observe(_ bytes: UnsafeRawBufferPointer, direction: RelayDirection) throws {
        self.each { try $0.observe(bytes, direction: direction) }
    }

    func endOfStream(_ direction: RelayDirection) throws {
        self.each { try $0.endOfStream(direction) }
    }

    func connectionClosed() {
        for tap in self.taps { tap.connectionClosed() }
    }

    private func each(_ body: (any RelayConnectionTap) throws -> Void) {
        var failed: [Int] = []
        for (index, tap) in self.taps.enumerated() {
            do { try body(tap) } catch { failed.append(index) }
        }
        for index in failed.reversed() {
            self.taps[index].connectionClosed()
            self.taps.remove(at: index)
        }
    }
}
