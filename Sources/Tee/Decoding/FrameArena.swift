import NIOCore

/// One buffer for the frames the taps of an event loop gather in an iteration of the loop (see
/// ``SideBatch``): two allocations per iteration (and one for the arena) instead of two per frame.
///
/// The arena holds its bytes' charge in the pipeline's frame bytes (`decode.queue_bytes`): its
/// capacity, taken before it grows, given back when it is freed, that is once the last frame in
/// it is consumed. So what the frames hold is what is charged, however the workers interleave.
///
/// Written only by its batch, on the event loop's thread, until the end of the iteration hands
/// its frames on; read only after that, by the worker that takes them (the queue's lock orders
/// the writes before the reads). The frames refer to it, not to its buffer: the buffer stays
/// uniquely referenced while it is written, and grows without a copy on write.
final class FrameArena: @unchecked Sendable {
    /// The smallest arena: room for a few agent requests and replies without growing.
    static let smallestCapacity = 4 << 10
    /// The largest arena: a `ByteBuffer` traps past 4 GiB. An iteration copies what its reads
    /// brought (far less), but the bound does not rest on that: a frame that would grow the arena
    /// past it gets a buffer of its own.
    static let largestCapacity = 1 << 30

    /// Written for every frame on the event loop's thread, read after by one worker: no
    /// run-time exclusivity check (a class's stored `var` pays one on every access otherwise).
    @exclusivity(unchecked) private var buffer: ByteBuffer
    /// Bytes taken from ``budget``: the buffer's capacity.
    @exclusivity(unchecked) private var charged: Int
    private let budget: ByteBudget

    /// An arena with room for `count` bytes, or `nil` when its capacity does not fit `budget`.
    init?(room count: Int, budget: ByteBudget) {
        let capacity = Self.capacity(for: count)
        guard budget.reserve(capacity) else { return nil }
        self.budget = budget
        self.charged = capacity
        self.buffer = ByteBufferAllocator().buffer(capacity: capacity)
    }

    deinit {
        self.budget.release(self.charged)
    }

    /// Copies `bytes` after what the arena holds, growing it (its growth charged first); returns
    /// where they are, or `nil` when the growth does not fit the budget (or ``largestCapacity``).
    func append(_ bytes: UnsafeRawBufferPointer) -> Int? {
        let offset = self.buffer.writerIndex
        let needed = offset + bytes.count
        if needed > self.charged {
            let capacity = Self.capacity(for: needed)
            guard capacity <= Self.largestCapacity, self.budget.reserve(capacity - self.charged) else { return nil }
            self.buffer.reserveCapacity(capacity)
            self.charged = capacity
        }
        // Never short (the capacity is what was charged), but a copy past it would trap.
        guard self.buffer.writableBytes >= bytes.count else { return nil }
        // Straight into the room reserved above (`writeBytes` goes through a generic path).
        self.buffer.withUnsafeMutableWritableBytes { $0.copyMemory(from: bytes) }
        self.buffer.moveWriterIndex(forwardBy: bytes.count)
        return offset
    }

    /// The `count` bytes at `offset`, as written by ``append(_:)`` (a slice: no copy).
    func bytes(at offset: Int, count: Int) -> ByteBuffer {
        self.buffer.getSlice(at: offset, length: count) ?? ByteBuffer()
    }

    /// A power of two, as a `ByteBuffer` allocates: what is charged is what is allocated.
    private static func capacity(for count: Int) -> Int {
        count <= Self.smallestCapacity ? Self.smallestCapacity : 1 << (Int.bitWidth - (count - 1).leadingZeroBitCount)
    }
}

/// The payload of a frame handed to the side pipeline.
enum SidePayload: Sendable {
    /// In a buffer of its own (a frame that spanned reads, in its decoder's), charged with its size.
    case own(ByteBuffer)
    /// `count` bytes at `offset` in an arena, whose charge is the arena's.
    case arena(FrameArena, offset: Int, count: Int)

    var buffer: ByteBuffer {
        switch self {
        case .own(let buffer): return buffer
        case .arena(let arena, let offset, let count): return arena.bytes(at: offset, count: count)
        }
    }

    /// Its bytes.
    var count: Int {
        switch self {
        case .own(let buffer): return buffer.readableBytes
        case .arena(_, _, let count): return count
        }
    }

    /// The bytes of the pipeline's frame bytes given back once it is consumed (an arena gives
    /// its own back when it is freed).
    var charge: Int {
        switch self {
        case .own(let buffer): return buffer.readableBytes
        case .arena: return 0
        }
    }
}
