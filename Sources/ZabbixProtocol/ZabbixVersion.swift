/// A Zabbix version string read leniently: `6.0` (agent 2 before 7.0), `7.0.9`, `8.0.0rc1`,
/// `8.0.0alpha2`, agent 2's long version, with anything after the numbers kept as the suffix.
///
/// Zabbix itself only compares major and minor (the server takes the itemid path for agents from
/// 4.4 on); a decoder that insists on a format breaks on the next release's pre-release tags.
public struct ZabbixVersion: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var major: Int
    public var minor: Int
    public var patch: Int?
    /// What follows the numbers (`rc1`, `alpha2`, ` (revision …)`), trimmed; empty when nothing.
    public var suffix: String

    public init(major: Int, minor: Int, patch: Int? = nil, suffix: String = "") {
        self.major = major
        self.minor = minor
        self.patch = patch
        self.suffix = suffix
    }

    /// `nil` unless `text` starts with `major.minor` (at most three digits each).
    public init?(parsing text: String) {
        var rest = Substring(text).drop { $0 == " " || $0 == "v" || $0 == "V" }
        func number() -> Int? {
            let digits = rest.prefix { $0.isASCII && $0.isNumber }
            guard !digits.isEmpty, digits.count <= 3, let value = Int(digits) else { return nil }
            rest = rest.dropFirst(digits.count)
            return value
        }
        guard let major = number(), rest.first == "." else { return nil }
        rest = rest.dropFirst()
        guard let minor = number() else { return nil }
        var patch: Int?
        if rest.first == ".", rest.dropFirst().first?.isNumber == true {
            rest = rest.dropFirst()
            patch = number()
        }
        let suffix = String(rest.prefix(32)).trimmingCharacters(in: " ")
        self.init(major: major, minor: minor, patch: patch, suffix: suffix)
    }

    /// `major.minor[.patch][suffix]`.
    public var description: String {
        "\(self.major).\(self.minor)" + (self.patch.map { ".\($0)" } ?? "") + self.suffix
    }

    /// `major.minor`: the release line (`7.0`, `8.0`).
    public var line: String { "\(self.major).\(self.minor)" }

    public static func < (lhs: ZabbixVersion, rhs: ZabbixVersion) -> Bool {
        (lhs.major, lhs.minor, lhs.patch ?? 0) < (rhs.major, rhs.minor, rhs.patch ?? 0)
    }
}

extension String {
    fileprivate func trimmingCharacters(in character: Character) -> String {
        var result = Substring(self)
        while result.first == character { result = result.dropFirst() }
        while result.last == character { result = result.dropLast() }
        return String(result)
    }
}
