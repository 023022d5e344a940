import NIOCore

/// A hashed timer wheel holding at most one deadline per connection slot: scheduling, cancelling
/// and expiring are O(1) list operations on preallocated arrays — no system call and no
/// allocation per timer (the arrays grow with the connection table, never per connection).
///
/// Time is cut into ticks of ``tick``; an entry hangs in the slot of the first tick boundary at
/// or after its deadline, modulo ``slotCount``, and fires when the wheel reaches that slot in the
/// right round. Deadlines never fire early, and at most one tick late. A connection's deadline usually moves *later*
/// (activity), and then it is left where it is and looked at again when it fires ("lazy
/// re-arming"); only a deadline that moves earlier is moved.
///
/// Pure: the loop passes `now` in.
struct TimerWheel {
    static let slotCount = 1024
    static let slotMask = TimerWheel.slotCount - 1
    /// 10 ms: connect timeouts of a few hundred milliseconds stay accurate, and an entry for the
    /// default 15-minute idle timeout is looked at about 90 times in its life.
    static let tick: Int64 = 10_000_000

    private var heads = [Int32](repeating: -1, count: TimerWheel.slotCount)
    /// One bit per slot with entries, so that the next non-empty slot is found word by word.
    private var occupied = [UInt64](repeating: 0, count: TimerWheel.slotCount / 64)
    private var next: [Int32] = []
    private var previous: [Int32] = []
    /// The slot an entry hangs in, -1 when not scheduled.
    private var slot: [Int32] = []
    private var deadlines: [UInt64] = []
    /// The last tick whose slot was processed.
    private var processedTick: Int64
    private(set) var count = 0

    init(now: NIODeadline) {
        self.processedTick = Self.tickNumber(now)
    }

    static func tickNumber(_ deadline: NIODeadline) -> Int64 {
        Int64(truncatingIfNeeded: deadline.uptimeNanoseconds / UInt64(Self.tick))
    }

    /// Makes room for entries `0..<capacity`.
    mutating func reserve(_ capacity: Int) {
        guard capacity > self.slot.count else { return }
        let added = capacity - self.slot.count
        self.next += repeatElement(-1, count: added)
        self.previous += repeatElement(-1, count: added)
        self.slot += repeatElement(-1, count: added)
        self.deadlines += repeatElement(0, count: added)
    }

    /// The deadline `index` is scheduled for, if any.
    func deadline(_ index: Int) -> NIODeadline? {
        guard index < self.slot.count, self.slot[index] >= 0 else { return nil }
        return .uptimeNanoseconds(self.deadlines[index])
    }

    /// Schedules (or moves) `index` to fire at `deadline`.
    mutating func schedule(_ index: Int, at deadline: NIODeadline) {
        self.cancel(index)
        // The slot of the first tick boundary at or after the deadline: when the wheel reaches
        // that slot, the deadline has passed. An entry already due goes in the next slot.
        let ceiling = Int64(
            truncatingIfNeeded: (deadline.uptimeNanoseconds + UInt64(Self.tick) - 1) / UInt64(Self.tick)
        )
        let tick = max(ceiling, self.processedTick + 1)
        let slot = Int(tick & Int64(Self.slotMask))
        self.deadlines[index] = deadline.uptimeNanoseconds
        self.slot[index] = Int32(slot)
        self.previous[index] = -1
        self.next[index] = self.heads[slot]
        if self.heads[slot] >= 0 { self.previous[Int(self.heads[slot])] = Int32(index) }
        self.heads[slot] = Int32(index)
        self.occupied[slot >> 6] |= 1 << UInt64(slot & 63)
        self.count += 1
    }

    /// Removes `index`'s deadline, if it has one.
    mutating func cancel(_ index: Int) {
        guard index < self.slot.count else { return }
        let slot = Int(self.slot[index])
        guard slot >= 0 else { return }
        let next = self.next[index]
        let previous = self.previous[index]
        if previous >= 0 { self.next[Int(previous)] = next } else { self.heads[slot] = next }
        if next >= 0 { self.previous[Int(next)] = previous }
        if self.heads[slot] < 0 { self.occupied[slot >> 6] &= ~(1 << UInt64(slot & 63)) }
        self.slot[index] = -1
        self.count -= 1
    }

    /// Removes every entry due by `now` and appends it to `due`, in no particular order.
    mutating func expire(now: NIODeadline, into due: inout [Int]) {
        let nowTick = Self.tickNumber(now)
        guard nowTick > self.processedTick else { return }
        // After a long sleep every slot is visited once.
        let first = max(self.processedTick + 1, nowTick - Int64(Self.slotCount) + 1)
        self.processedTick = nowTick
        guard self.count > 0 else { return }
        let nowNanoseconds = now.uptimeNanoseconds
        var tick = first
        while tick <= nowTick {
            let slot = Int(tick & Int64(Self.slotMask))
            var entry = self.heads[slot]
            while entry >= 0 {
                let index = Int(entry)
                entry = self.next[index]
                if self.deadlines[index] <= nowNanoseconds {
                    self.cancel(index)
                    due.append(index)
                }
            }
            tick += 1
        }
    }

    /// When the next non-empty slot comes up (an upper bound for how long the loop may sleep);
    /// `nil` when nothing is scheduled.
    func nextExpiry() -> NIODeadline? {
        guard self.count > 0 else { return nil }
        let start = self.processedTick + 1
        var offset: Int64 = 0
        while offset < Int64(Self.slotCount) {
            let tick = start + offset
            let slot = Int(tick & Int64(Self.slotMask))
            if self.occupied[slot >> 6] == 0 {
                // None of this word's remaining slots has entries.
                offset += Int64(64 - (slot & 63))
                continue
            }
            if self.occupied[slot >> 6] & (1 << UInt64(slot & 63)) != 0 {
                return .uptimeNanoseconds(UInt64(tick) * UInt64(Self.tick))
            }
            offset += 1
        }
        return .uptimeNanoseconds(UInt64(start + Int64(Self.slotCount)) * UInt64(Self.tick))
    }
}
