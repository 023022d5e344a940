#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Owns every C string and array handed to protobuf-c while a message is packed.
///
/// protobuf-c never copies on pack: the `char *` and `T **` fields of a message must stay valid
/// until `pack` returns. The arena hands out memory from a few large blocks (sized up front by
/// the caller, so a whole batch costs a constant number of allocations) and frees all of it when
/// it goes out of scope. It is non-copyable so the memory has exactly one owner; use it through
/// ``ProtobufArena/with(stringBytes:_:)`` so its lifetime visibly encloses the pack call.
struct ProtobufArena: ~Copyable {
    private var blocks: [UnsafeMutableRawPointer] = []
    private var stringBlock: UnsafeMutablePointer<CChar>?
    private var stringBlockRemaining = 0

    /// - Parameter stringBytes: total bytes of all C strings that will be requested, including
    ///   their terminating NULs. Strings beyond this get their own block (still freed).
    private init(stringBytes: Int) throws(RiemannCodecError) {
        if stringBytes > 0 {
            let block = try self.rawAllocate(byteCount: stringBytes)
            self.stringBlock = block.bindMemory(to: CChar.self, capacity: stringBytes)
            self.stringBlockRemaining = stringBytes
        }
    }

    deinit {
        for block in self.blocks {
            free(block)
        }
    }

    /// Runs `body` with a fresh arena; everything it allocated is freed when `body` returns.
    /// Throws ``RiemannCodecError/allocationFailed(byteCount:)`` when memory runs out, instead of
    /// trapping: the caller drops one message, the process lives on.
    static func with<Result>(
        stringBytes: Int,
        _ body: (inout ProtobufArena) throws(RiemannCodecError) -> Result
    ) throws(RiemannCodecError) -> Result {
        var arena = try ProtobufArena(stringBytes: stringBytes)
        return try body(&arena)
    }

    /// malloc's alignment (max_align_t) covers every C type protobuf-c uses; never asks for 0 bytes.
    private mutating func rawAllocate(byteCount: Int) throws(RiemannCodecError) -> UnsafeMutableRawPointer {
        guard byteCount >= 0, let pointer = malloc(max(byteCount, 1)) else {
            throw .allocationFailed(byteCount: byteCount)
        }
        self.blocks.append(pointer)
        return pointer
    }

    /// Memory for `count` values of `T`, zero-filled (so pointers are NULL and `has_*` flags 0).
    /// The caller initializes the values (e.g. with the generated `*__init` functions).
    mutating func allocate<T>(_ type: T.Type, count: Int) throws(RiemannCodecError) -> UnsafeMutablePointer<T> {
        let (byteCount, overflow) = MemoryLayout<T>.stride.multipliedReportingOverflow(by: count)
        guard !overflow else { throw .allocationFailed(byteCount: .max) }
        let raw = try self.rawAllocate(byteCount: byteCount)
        memset(raw, 0, max(byteCount, 1))
        return raw.bindMemory(to: T.self, capacity: max(count, 1))
    }

    /// A NUL-terminated copy of `string` owned by the arena. An embedded NUL ends the C string.
    mutating func cString(_ string: String) throws(RiemannCodecError) -> UnsafeMutablePointer<CChar> {
        let needed = string.utf8.count + 1
        let destination: UnsafeMutablePointer<CChar>
        if let block = self.stringBlock, self.stringBlockRemaining >= needed {
            destination = block
            self.stringBlock = block + needed
            self.stringBlockRemaining -= needed
        } else {
            destination = try self.rawAllocate(byteCount: needed).bindMemory(to: CChar.self, capacity: needed)
        }
        var string = string
        string.withUTF8 { utf8 in
            if let base = utf8.baseAddress {
                UnsafeMutableRawPointer(destination).copyMemory(from: base, byteCount: utf8.count)
            }
            destination[utf8.count] = 0
        }
        return destination
    }

    /// ``cString(_:)`` for an optional string: `nil` stays NULL (field absent).
    mutating func optionalCString(_ string: String?) throws(RiemannCodecError) -> UnsafeMutablePointer<CChar>? {
        guard let string else { return nil }
        return try self.cString(string)
    }
}

@available(*, unavailable)
extension ProtobufArena: Sendable {}
