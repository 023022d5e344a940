import CRiemannProto

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Owns every C string and array handed to protobuf-c while a message (or one event) is packed.
///
/// protobuf-c never copies on pack: the `char *` and `T **` fields of a message must stay valid
/// until `pack` returns. The arena hands them out from one block, sized up front by the caller
/// (``reset(reserving:)``), so packing costs no allocation once the block is large enough; what
/// does not fit gets a block of its own (freed at the next reset). The block is kept from one
/// reset to the next — the Riemann client packs thousands of events a second through one arena —
/// and ``trim(keepingAtMost:)`` gives it back after an unusually large message, so what stays is
/// bounded whatever the events were. It is non-copyable so the memory has exactly one owner.
struct ProtobufArena: ~Copyable {
    private var block: UnsafeMutableRawPointer?
    private var capacity = 0
    private var used = 0
    /// Allocations that did not fit the block.
    private var spills: [UnsafeMutableRawPointer] = []

    init() {}

    deinit {
        free(self.block)
        for spill in self.spills {
            free(spill)
        }
    }

    /// The bytes of the block kept for the next reset.
    var reservedBytes: Int { self.capacity }

    /// Forgets everything handed out so far (it must no longer be used) and makes sure the next
    /// `byteCount` bytes come from the block. Throws ``RiemannCodecError/allocationFailed(byteCount:)``
    /// when memory runs out, instead of trapping: the caller drops one message, the process lives on.
    @inline(__always)
    mutating func reset(reserving byteCount: Int) throws(RiemannCodecError) {
        if self.spills.isEmpty, byteCount <= self.capacity {
            self.used = 0  // the usual case: the block is large enough and nothing spilled
            return
        }
        try self.resetSlowly(reserving: byteCount)
    }

    private mutating func resetSlowly(reserving byteCount: Int) throws(RiemannCodecError) {
        for spill in self.spills {
            free(spill)
        }
        self.spills.removeAll(keepingCapacity: true)
        self.used = 0
        guard byteCount > self.capacity else { return }
        free(self.block)
        self.block = nil
        self.capacity = 0
        guard let block = malloc(byteCount) else { throw .allocationFailed(byteCount: byteCount) }
        self.block = block
        self.capacity = byteCount
    }

    /// Frees the block if it is larger than `limit` bytes (after a message of unusually large events).
    mutating func trim(keepingAtMost limit: Int) {
        guard self.capacity > limit else { return }
        free(self.block)
        self.block = nil
        self.capacity = 0
        self.used = 0
    }

    /// Bytes to reserve for the C structs and strings of `event`, whose encoded size is
    /// `encodedSize` (``RiemannEvent/encodedSize``): every string of L bytes takes at least L + 2
    /// bytes encoded (tag, length, bytes), so `encodedSize` covers the strings with their NULs.
    static func bytes(for event: RiemannEvent, encodedSize: Int) -> Int {
        let attributes = event.attributes.count
        return encodedSize + attributes
            * (MemoryLayout<Riemann__Attribute>.stride + MemoryLayout<UnsafeRawPointer>.stride)
            + event.tags.count * MemoryLayout<UnsafeRawPointer>.stride + 3 * Self.maximumAlignment
    }

    /// The largest alignment of the C types protobuf-c uses (pointers, 64-bit integers, doubles).
    private static let maximumAlignment = 8

    @inline(__always)
    private mutating func rawAllocate(
        byteCount: Int,
        alignment: Int
    ) throws(RiemannCodecError) -> UnsafeMutableRawPointer {
        let start = (self.used + alignment - 1) & ~(alignment - 1)
        if let block = self.block, byteCount >= 0, start <= self.capacity, byteCount <= self.capacity - start {
            self.used = start + byteCount
            return block + start
        }
        // malloc's alignment (max_align_t) covers every C type protobuf-c uses; never asks for 0 bytes.
        guard byteCount >= 0, let spill = malloc(max(byteCount, 1)) else {
            throw .allocationFailed(byteCount: byteCount)
        }
        self.spills.append(spill)
        return spill
    }

    /// Memory for `count` values of `T`, zero-filled (so pointers are NULL and `has_*` flags 0).
    /// The caller initializes the values (e.g. with the generated `*__init` functions).
    @inline(__always)
    mutating func allocate<T>(_ type: T.Type, count: Int) throws(RiemannCodecError) -> UnsafeMutablePointer<T> {
        let (byteCount, overflow) = MemoryLayout<T>.stride.multipliedReportingOverflow(by: count)
        guard !overflow else { throw .allocationFailed(byteCount: .max) }
        let raw = try self.rawAllocate(byteCount: byteCount, alignment: MemoryLayout<T>.alignment)
        memset(raw, 0, byteCount)
        return raw.bindMemory(to: T.self, capacity: count)
    }

    /// A NUL-terminated copy of `string` owned by the arena. An embedded NUL ends the C string.
    @inline(__always)
    mutating func cString(_ string: String) throws(RiemannCodecError) -> UnsafeMutablePointer<CChar> {
        // The usual case in one pass: contiguous UTF-8 (native and small strings) that fits the block.
        if let block = self.block {
            let start = self.used
            let room = self.capacity - start
            let copied: Int?? = string.utf8.withContiguousStorageIfAvailable { utf8 in
                guard utf8.count < room, let base = utf8.baseAddress else { return nil }
                (block + start).copyMemory(from: base, byteCount: utf8.count)
                (block + start).storeBytes(of: 0, toByteOffset: utf8.count, as: UInt8.self)
                return utf8.count
            }
            if let count = copied ?? nil {
                self.used = start + count + 1
                return (block + start).bindMemory(to: CChar.self, capacity: count + 1)
            }
        }
        return try self.cStringSlowly(string)
    }

    private mutating func cStringSlowly(_ string: String) throws(RiemannCodecError) -> UnsafeMutablePointer<CChar> {
        let count = string.utf8.count
        let destination = try self.rawAllocate(byteCount: count + 1, alignment: 1)
        let copied: Void? = string.utf8.withContiguousStorageIfAvailable { utf8 in
            if let base = utf8.baseAddress {
                destination.copyMemory(from: base, byteCount: utf8.count)
            }
        }
        if copied == nil {
            for (offset, byte) in string.utf8.enumerated() {
                destination.storeBytes(of: byte, toByteOffset: offset, as: UInt8.self)
            }
        }
        destination.storeBytes(of: 0, toByteOffset: count, as: UInt8.self)
        return destination.bindMemory(to: CChar.self, capacity: count + 1)
    }

    /// ``cString(_:)`` for an optional string: `nil` stays NULL (field absent).
    @inline(__always)
    mutating func optionalCString(_ string: String?) throws(RiemannCodecError) -> UnsafeMutablePointer<CChar>? {
        guard let string else { return nil }
        return try self.cString(string)
    }
}

@available(*, unavailable)
extension ProtobufArena: Sendable {}
