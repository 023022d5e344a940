#if canImport(Glibc)
import Glibc
#endif

/// A host or key pattern: a shell glob (`web-*`, `system.cpu.load[*]`, `[[]` for a literal
/// bracket) or, written between slashes, a regular expression (`/^vfs\.fs\.size\[.*,pfree\]$/`).
public struct Pattern: Sendable, CustomStringConvertible {
    private enum Kind: @unchecked Sendable {
        case glob(String)
        case regex(Regex<AnyRegexOutput>)
    }

    private let kind: Kind
    public let description: String

    /// Why a pattern is unusable.
    public struct Invalid: Error, CustomStringConvertible {
        public var description: String
    }

    public init(_ text: String) throws(Invalid) {
        self.description = text
        if text.count >= 2, text.hasPrefix("/"), text.hasSuffix("/") {
            do {
                self.kind = .regex(try Regex(String(text.dropFirst().dropLast())))
            } catch {
                throw Invalid(description: "\(text) is not a valid regular expression: \(error)")
            }
        } else {
            self.kind = .glob(text)
        }
    }

    public func matches(_ text: String) -> Bool {
        switch self.kind {
        case .glob(let glob):
            return fnmatch(glob, text, 0) == 0
        case .regex(let regex):
            return (try? regex.firstMatch(in: text)) != nil
        }
    }
}
