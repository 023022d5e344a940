import Foundation
import TestSupport
import Testing
import ZabbixProtocol

@testable import Tee

#if canImport(Glibc)
import Glibc
#endif

/// The catalog file survives full disks, crashes and corruption: a failed save keeps the previous
/// file and is counted, the temporary file is never written through a planted symlink, and a
/// file that does not load is set aside, never overwritten.
@Suite(.timeLimit(.minutes(1)))
struct CatalogFileTests {
    /// A catalog file with `items` items of host `host`, as the tee writes them.
    static func catalogFile(items: Int, host: String = "web-01", keyLength: Int = 20) -> [UInt8] {
        let namespace = ItemCatalog.agentNamespace(listener: "agents", host: host)
        var text = #"{"format":"zabbix-tee item catalog","version":1}"# + "\n"
        for itemid in 1...items {
            let key = "key.\(itemid)." + String(repeating: "k", count: keyLength)
            text += #"{"ns":"\#(namespace)","itemid":\#(itemid),"key":"\#(key)","host":"\#(host)"}"# + "\n"
        }
        return Array(text.utf8)
    }

    static func store() -> ItemCatalogStore {
        ItemCatalogStore(maximumEntries: 1_000_000, maximumPendingValues: 10, pendingTimeout: .seconds(1))
    }

    static func directory() throws -> String {
        let directory = try ZabbixLabDirectory.create("catalog")
        chmod(directory, 0o700)
        return directory
    }

    static func contents(_ path: String) -> [UInt8]? {
        FileManager.default.contents(atPath: path).map(Array.init)
    }

    @Test func aMissingFileIsAnEmptyCatalog() throws {
        let directory = try Self.directory()
        defer { ZabbixLabDirectory.remove(directory) }
        #expect(try Self.store().load(path: "\(directory)/catalog.jsonl") == .missing)
    }

    @Test(arguments: ["truncated", "garbage", "empty header"])
    func aFileThatDoesNotLoadIsSetAsideAndNeverOverwritten(_ damage: String) throws {
        let directory = try Self.directory()
        defer { ZabbixLabDirectory.remove(directory) }
        let path = "\(directory)/catalog.jsonl"
        let whole = Self.catalogFile(items: 100)
        let damaged: [UInt8]
        switch damage {
        case "truncated": damaged = Array(whole.prefix(whole.count / 2 + 7))  // cut inside a line
        case "garbage": damaged = Array("\u{0}\u{1}not a catalog at all".utf8)
        default: damaged = Array("{\"format\":\"something else\",\"version\":1}\n".utf8)
        }
        _ = FileManager.default.createFile(atPath: path, contents: Data(damaged))
        let store = Self.store()
        var now = timespec()
        now.tv_sec = 1_800_000_000  // 2027-01-15T08:00:00Z
        let outcome = try store.load(path: path, now: now)
        guard case .setAside(let aside, let reason) = outcome else {
            Issue.record("\(damage): \(outcome)")
            return
        }
        #expect(aside == "\(path).corrupt-20270115T080000Z")
        #expect(!reason.isEmpty)
        #expect(Self.contents(aside) == damaged, "kept byte for byte")
        #expect(!FileManager.default.fileExists(atPath: path))
        #expect(store.entryCount == 0)
        #expect(store.setAsideCount == 1)
        // The next save writes a fresh file; the copy set aside stays.
        #expect(try store.save(path: path, force: true))
        #expect(Self.contents(aside) == damaged)
        // A second bad start in the same second does not overwrite the first copy.
        _ = FileManager.default.createFile(atPath: path, contents: Data(damaged + [0x7B]))
        guard case .setAside(let second, _) = try Self.store().load(path: path, now: now) else {
            Issue.record("the second damaged file was not set aside")
            return
        }
        #expect(second != aside)
        #expect(Self.contents(aside) == damaged)
        #expect(Self.contents(second) == damaged + [0x7B])
    }

    @Test func aSaveReplacesTheFileWholeOwnerOnly() throws {
        let directory = try Self.directory()
        defer { ZabbixLabDirectory.remove(directory) }
        let source = "\(directory)/source.jsonl"
        _ = FileManager.default.createFile(atPath: source, contents: Data(Self.catalogFile(items: 50)))
        let store = Self.store()
        #expect(try store.load(path: source) == .loaded(entries: 50))
        let path = "\(directory)/catalog.jsonl"
        #expect(try store.save(path: path, force: true))
        let reloaded = Self.store()
        #expect(try reloaded.load(path: path) == .loaded(entries: 50))
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        #expect(attributes[.posixPermissions] as? Int == 0o600)
        #expect(!FileManager.default.fileExists(atPath: AtomicFile.temporaryPath(for: path)), "no temporary file left")
    }

    /// Someone planted a symlink where the temporary file goes: the save must not write through
    /// it (O_EXCL|O_NOFOLLOW), and a stale temporary file left by a crash must not block saves.
    @Test(arguments: ["symlink", "stale file"])
    func theTemporaryFileIsCreatedAfreshNeverWrittenThrough(_ planted: String) throws {
        let directory = try Self.directory()
        defer { ZabbixLabDirectory.remove(directory) }
        let path = "\(directory)/catalog.jsonl"
        let victim = "\(directory)/victim"
        _ = FileManager.default.createFile(atPath: victim, contents: Data("precious\n".utf8))
        let temporary = AtomicFile.temporaryPath(for: path)
        if planted == "symlink" {
            #expect(symlink(victim, temporary) == 0)
        } else {
            _ = FileManager.default.createFile(atPath: temporary, contents: Data("half a catalog from a crash".utf8))
        }
        let store = Self.store()
        #expect(try store.save(path: path, force: true))
        #expect(Self.contents(victim) == Array("precious\n".utf8))
        #expect(try Self.store().load(path: path) == .loaded(entries: 0))
        #expect(!FileManager.default.fileExists(atPath: temporary))
    }

    /// ENOSPC in the middle of a save: the previous file stays whole, the failure is counted, the
    /// changes stay pending, and the next save after space came back writes them.
    @Test(
        .enabled(
            if: TmpfsMount.isAvailable,
            "needs to mount a tmpfs (root, CAP_SYS_ADMIN); why it could not is printed"
        )
    )
    func aSaveOnAFullDiskKeepsThePreviousFileAndIsCounted() throws {
        let disk = try TmpfsMount.mount(sizeBytes: 256 * 1024)
        defer { disk.unmount() }
        let path = "\(disk.path)/catalog.jsonl"
        let small = Self.catalogFile(items: 10)
        _ = FileManager.default.createFile(atPath: path, contents: Data(small))
        let store = Self.store()
        let source = try Self.directory()
        defer { ZabbixLabDirectory.remove(source) }
        _ = FileManager.default.createFile(
            atPath: "\(source)/large.jsonl",
            contents: Data(Self.catalogFile(items: 2000))
        )
        #expect(try store.load(path: "\(source)/large.jsonl") == .loaded(entries: 2000))
        #expect(store.saveFailureCount == 0)

        let filler = disk.fill()
        #expect(throws: ItemCatalogStore.FileError.self) { try store.save(path: path, force: true) }
        #expect(store.saveFailureCount == 1)
        #expect(Self.contents(path) == small, "the previous file is untouched")
        #expect(!FileManager.default.fileExists(atPath: AtomicFile.temporaryPath(for: path)))

        unlink(filler)
        #expect(try store.save(path: path, force: true))
        #expect(try Self.store().load(path: path) == .loaded(entries: 2000))
        #expect(store.saveFailureCount == 1)
    }
}
