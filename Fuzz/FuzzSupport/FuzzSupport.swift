import CLibFuzzer

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Shared pieces of the libFuzzer targets in `Fuzz/`.
///
/// Every target exports `LLVMFuzzerTestOneInput` with `@_cdecl` and has an `@main` that calls
/// ``main(_:)``. Built by `scripts/fuzz.sh` (`-sanitize=fuzzer,address -DFUZZING`) that starts
/// libFuzzer's driver; in an ordinary `swift build` it replays the files named on the command
/// line without sanitizers (`swift run FuzzZabbixFrames Fuzz/corpus/FuzzZabbixFrames`).
///
/// (libFuzzer's own `main` cannot be used: SwiftPM renames every executable's entry point to
/// `<target>_main` and links `main` as an alias of it.)
public enum FuzzSupport {
    public typealias TestOneInput = @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt

    /// The fuzz target's `main`: libFuzzer when built with `-DFUZZING`, else ``replay(_:)``.
    public static func main(_ testOneInput: TestOneInput) -> Never {
        #if FUZZING
        var argc = CommandLine.argc
        var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
        exit(LLVMFuzzerRunDriver(&argc, &argv, testOneInput))
        #else
        replay(testOneInput)
        #endif
    }

    /// A failed invariant: prints `message` and traps, which libFuzzer reports as a crash and
    /// saves the input.
    public static func check(
        _ condition: @autoclosure () -> Bool,
        _ message: @autoclosure () -> String,
        file: StaticString = #fileID,
        line: UInt = #line
    ) {
        if !condition() {
            printError("FUZZ INVARIANT VIOLATED at \(file):\(line): \(message())")
            fatalError("fuzz invariant violated: \(message())", file: file, line: line)
        }
    }

    /// Runs `body` and checks that the heap it used at its peak stayed within `limit` bytes
    /// (``AllocationBudget``): what decoding an input may cost is bounded by the input, never by
    /// what it claims or how it is shaped. Without ASan (plain replay builds) it only runs `body`.
    public static func withinAllocationBudget<R>(
        _ limit: Int,
        _ what: @autoclosure () -> String,
        file: StaticString = #fileID,
        line: UInt = #line,
        _ body: () throws -> R
    ) rethrows -> R {
        guard AllocationBudget.isCounting else { return try body() }
        let start = fuzz_allocations_live()
        fuzz_allocations_reset_peak()
        let result = try body()
        let used = fuzz_allocations_peak() - min(start, fuzz_allocations_peak())
        Self.check(
            used <= limit,
            "\(what()) used \(used) bytes of heap at its peak, budget \(limit)",
            file: file,
            line: line
        )
        return result
    }

    /// The body of the non-fuzzing `main`: runs every file named on the command line (directories
    /// are walked one level deep) through `testOneInput`.
    public static func replay(_ testOneInput: (UnsafePointer<UInt8>?, Int) -> CInt) -> Never {
        let paths = CommandLine.arguments.dropFirst()
        if paths.isEmpty {
            printError(
                "usage: \(CommandLine.arguments[0]) FILE|DIR...\n(replays inputs without libFuzzer; see RELIABILITY.md)"
            )
            exit(2)
        }
        var count = 0
        for path in paths {
            for file in Self.files(at: path) {
                guard let bytes = Self.read(file) else {
                    printError("cannot read \(file)")
                    exit(1)
                }
                _ = bytes.withUnsafeBufferPointer { testOneInput($0.baseAddress, $0.count) }
                count += 1
            }
        }
        print("replayed \(count) input(s) without failure")
        exit(0)
    }

    /// Writes `text` and a newline to standard error, unbuffered.
    public static func printError(_ text: String) {
        var bytes = Array((text + "\n").utf8)
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeMutableBytes { write(2, $0.baseAddress! + offset, $0.count - offset) }
            if written <= 0 { return }
            offset += written
        }
    }

    private static func files(at path: String) -> [String] {
        guard let directory = opendir(path) else { return [path] }
        defer { closedir(directory) }
        var names: [String] = []
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            if name.hasPrefix(".") { continue }
            names.append(path + "/" + name)
        }
        return names.sorted()
    }

    private static func read(_ path: String) -> [UInt8]? {
        guard let file = fopen(path, "rb") else { return nil }
        defer { fclose(file) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = fread(&chunk, 1, chunk.count, file)
            if count > 0 { bytes.append(contentsOf: chunk[0..<count]) }
            if count < chunk.count { break }
        }
        return bytes
    }
}

/// Heap accounting (ASan's malloc hooks; see `Fuzz/CLibFuzzer`).
public enum AllocationBudget {
    /// Whether heap bytes are counted: in the `-sanitize=fuzzer,address` builds of scripts/fuzz.sh.
    public static let isCounting: Bool = fuzz_allocations_start() != 0
}

/// Splits `bytes` at every `separator` (the separator itself is dropped).
public func fuzzSplit(_ bytes: UnsafeRawBufferPointer, separator: UInt8) -> [UnsafeRawBufferPointer] {
    var parts: [UnsafeRawBufferPointer] = []
    var start = 0
    for index in 0..<bytes.count where bytes[index] == separator {
        parts.append(UnsafeRawBufferPointer(rebasing: bytes[start..<index]))
        start = index + 1
    }
    parts.append(UnsafeRawBufferPointer(rebasing: bytes[start..<bytes.count]))
    return parts
}
