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
    private init(stringBytes: Int) {
        if stringBytes > 0 {
            let block = self.rawAllocate(byteCount: stringBytes)
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
    static func with<Result, Failure: Error>(
        stringBytes: Int,
        _ body: (inout ProtobufArena) throws(Failure) -> Result
    ) throws(Failure) -> Result {
        var arena = ProtobufArena(stringBytes: stringBytes)
        return try body(&arena)
    }

    /// malloc's alignment (max_align_t) covers every C type protobuf-c uses; never asks for 0 bytes.
    private mutating func rawAllocate(byteCount: Int) -> UnsafeMutableRawPointer {
        guard let pointer = malloc(max(byteCount, 1)) else {
            fatalError("ProtobufArena: out of memory allocating \(byteCount) bytes")
        }
        self.blocks.append(pointer)
        return pointer
    }

    /// Memory for `count` values of `T`, zero-filled (so pointers are NULL and `has_*` flags 0).
    /// The caller initializes the values (e.g. with the generated `*__init` functions).
    mutating func allocate<T>(_ type: T.Type, count: Int) -> UnsafeMutablePointer<T> {
        let byteCount = MemoryLayout<T>.stride * count
        let raw = self.rawAllocate(byteCount: byteCount)
        memset(raw, 0, max(byteCount, 1))
        return raw.bindMemory(to: T.self, capacity: max(count, 1))
    }

    /// A NUL-terminated copy of `string` owned by the arena. An embedded NUL ends the C string.
    mutating func cString(_ string: String) -> UnsafeMutablePointer<CChar> {
        var string = string
        return string.withUTF8 { utf8 in
            let needed = utf8.count + 1
            let destination: UnsafeMutablePointer<CChar>
            if let block = self.stringBlock, self.stringBlockRemaining >= needed {
                destination = block
                self.stringBlock = block + needed
                self.stringBlockRemaining -= needed
            } else {
                destination = self.rawAllocate(byteCount: needed)
                    .bindMemory(to: CChar.self, capacity: needed)
            }
            if let base = utf8.baseAddress {
                UnsafeMutableRawPointer(destination).copyMemory(from: base, byteCount: utf8.count)
            }
            destination[utf8.count] = 0
            return destination
        }
    }

    /// ``cString(_:)`` for an optional string: `nil` stays NULL (field absent).
    mutating func optionalCString(_ string: String?) -> UnsafeMutablePointer<CChar>? {
        guard let string else { return nil }
        return self.cString(string)
    }
}

@available(*, unavailable)
extension ProtobufArena: Sendable {}
