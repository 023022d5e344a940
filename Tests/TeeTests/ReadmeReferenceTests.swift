import Foundation
import Tee
import Testing

/// The README's configuration reference lists exactly the keys the loader accepts, each with a
/// default, and the shipped config.yaml is valid.
struct ReadmeReferenceTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    /// Key paths in the first column of the README's "Configuration reference" tables, with the
    /// default column.
    static func referenceRows() throws -> [String: String] {
        let readme = try String(contentsOf: Self.root.appendingPathComponent("README.md"), encoding: .utf8)
        guard let start = readme.range(of: "## Configuration reference") else { return [:] }
        let section = readme[start.upperBound...].components(separatedBy: "\n## ").first ?? ""
        var rows: [String: String] = [:]
        for line in section.split(separator: "\n") where line.hasPrefix("| `") {
            let cells = line.split(separator: "|", omittingEmptySubsequences: false).map {
                $0.trimmingCharacters(in: .whitespaces)
            }
            guard cells.count > 3 else { continue }
            rows[cells[1].trimmingCharacters(in: CharacterSet(charactersIn: "`"))] = cells[2]
        }
        return rows
    }

    @Test func everyConfigurationKeyIsDocumentedWithADefault() throws {
        let rows = try Self.referenceRows()
        for key in ConfigLoader.keyPaths {
            #expect(rows[key] != nil, "README lacks \(key)")
            #expect(rows[key].map { !$0.isEmpty } == true, "README gives no default for \(key)")
        }
    }

    @Test func theReferenceListsNoKeyTheLoaderRejects() throws {
        let known = Set(ConfigLoader.keyPaths)
        for key in try Self.referenceRows().keys {
            #expect(known.contains(key), "README documents \(key), which the loader does not accept")
        }
    }

    @Test func shippedConfigYamlIsValid() throws {
        _ = try ConfigLoader.load(path: Self.root.appendingPathComponent("config.yaml").path)
    }
}
