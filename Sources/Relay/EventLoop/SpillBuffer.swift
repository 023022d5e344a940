/// The bytes of one direction that the destination's socket did not take (a short write, or no
/// room at all): at most one read batch, flushed before that direction is read again.
struct SpillBuffer {
    let base: UnsafeMutableRawPointer
    var start = 0
    var end = 0

    var count: Int { self.end - self.start }
    var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: self.base + self.start, count: self.count) }
}

/// Spill buffers of one loop, recycled: they exist only while a peer is slower than the other, so
/// a loop keeps a few for the next time instead of going back to `malloc` for each.
struct SpillPool {
    /// The size of each buffer: the loop's scratch buffer, one read batch.
    let bufferSize: Int
    /// Buffers kept for reuse; beyond this, returned buffers are freed.
    let keep: Int
    private var free: [UnsafeMutableRawPointer] = []

    init(bufferSize: Int, keep: Int = 64) {
        self.bufferSize = bufferSize
        self.keep = keep
        self.free.reserveCapacity(keep)
    }

    /// A buffer holding a copy of `bytes` (at most ``bufferSize``).
    mutating func take(copying bytes: UnsafeRawBufferPointer) -> SpillBuffer {
        let base = self.free.popLast() ?? UnsafeMutableRawPointer.allocate(byteCount: self.bufferSize, alignment: 16)
        let count = min(bytes.count, self.bufferSize)
        if count > 0 { base.copyMemory(from: bytes.baseAddress!, byteCount: count) }
        return SpillBuffer(base: base, start: 0, end: count)
    }

    mutating func give(_ buffer: SpillBuffer) {
        if self.free.count < self.keep {
            self.free.append(buffer.base)
        } else {
            buffer.base.deallocate()
        }
    }

    mutating func drain() {
        for base in self.free { base.deallocate() }
        self.free.removeAll()
    }
}
