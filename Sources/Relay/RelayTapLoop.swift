import NIOCore

/// Work that taps of one event loop gather during an iteration of the loop and hand on at its end.
///
/// A tap that passes what it observes to another thread pays for every hand-off (a lock, maybe a
/// wake-up), per read and per connection. Gathered in a batch and handed on once the loop has
/// handled all its ready events, everything the loop's connections produced in an iteration
/// costs one hand-off. It adds no latency: the loop flushes before it waits for more events.
public protocol RelayTapBatch: AnyObject {
    /// The loop's iteration ended: hand on what was gathered.
    func flush()
}

/// What an event loop offers the taps of its connections: its time, and batches flushed at the
/// end of each of its iterations.
///
/// Confined to its loop's thread (not `Sendable`): taps made for a connection of the loop reach
/// it from their methods, which run on that thread.
public final class RelayTapLoop {
    /// A class: looked at for every connection, an entry is read through a reference, not copied
    /// out of the array (with its weak reference and existential).
    private final class Entry {
        /// `owner`'s identity, compared first (no weak reference loaded for other owners).
        let id: ObjectIdentifier
        /// What the batch belongs to (a tap factory's pipeline, say); the batch goes with it.
        weak var owner: AnyObject?
        let batch: any RelayTapBatch
        /// The batch's class, compared before it is handed out as one (no dynamic cast).
        let kind: ObjectIdentifier

        init<Batch: RelayTapBatch>(id: ObjectIdentifier, owner: AnyObject, batch: Batch) {
            self.id = id
            self.owner = owner
            self.batch = batch
            self.kind = ObjectIdentifier(Batch.self)
        }
    }

    /// Confined to the loop's thread and read for every connection: no run-time exclusivity check.
    @exclusivity(unchecked) private var entries: [Entry] = []

    /// When the loop's current iteration started (the loop's clock, read once per iteration): a
    /// time for taps that need one and not a clock read of their own.
    ///
    /// A getter: taps read it for every frame from another module, where a stored property's
    /// read pays a run-time exclusivity check whatever this module says about it.
    public var now: NIODeadline { self.iterationStart }

    /// Written by the loop once per iteration (``now``).
    @exclusivity(unchecked) var iterationStart: NIODeadline

    public init(now: NIODeadline = .now()) {
        self.iterationStart = now
    }

    /// The batch `owner` keeps on this loop, made by `make` on first use; flushed at the end of
    /// every iteration of the loop while `owner` lives (once more after it is gone, then dropped).
    public func batch<Batch: RelayTapBatch>(for owner: AnyObject, make: () -> Batch) -> Batch {
        let id = ObjectIdentifier(owner)
        let kind = ObjectIdentifier(Batch.self)
        for entry in self.entries where entry.id == id && entry.kind == kind {
            // Another object at the address of one that is gone is not its owner.
            guard entry.owner != nil else { continue }
            // Made by `make` as a `Batch` (its class checked above).
            return unsafeDowncast(entry.batch as AnyObject, to: Batch.self)
        }
        let batch = make()
        self.entries.append(Entry(id: id, owner: owner, batch: batch))
        return batch
    }

    /// The loop handled its ready events (and timers) and is about to wait: every batch hands on
    /// what it gathered.
    public func iterationEnded() {
        var gone = false
        for entry in self.entries {
            entry.batch.flush()
            if entry.owner == nil { gone = true }
        }
        if gone { self.entries.removeAll { $0.owner == nil } }
    }
}
