#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A failed system call, with its `errno`.
struct SystemCallError: Error, CustomStringConvertible {
    var call: String
    var code: Int32

    init(_ call: String, errno code: Int32 = errno) {
        self.call = call
        self.code = code
    }

    var description: String { "\(self.call): \(Self.text(self.code))" }

    static func text(_ code: Int32) -> String {
        "\(String(cString: strerror(code))) (errno \(code))"
    }
}
