import Foundation
import Tee
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// `kill -9` in the middle of catalog saves, again and again: every start finds the catalog of
/// the last completed save, whole, and no temporary files pile up.
@Suite("catalog crash consistency", .tags(.integration), .tier(.integration), .serialized, .timeLimit(.minutes(3)))
struct CatalogCrashConsistencyTests {
    /// An `active checks` reply (agent 2 style, with itemids) of `items` items.
    static func activeChecksReply(items: Int, firstItemid: Int) -> [UInt8] {
        let rows = (0..<items).map { index in
            #"{"key":"crash.key[\#(firstItemid + index),\#(String(repeating: "p", count: 40))]","itemid":\#(firstItemid + index),"delay":"1m","lastlogsize":0,"mtime":0}"#
        }
        return ZabbixFrames.plain(#"{"response":"success","data":[\#(rows.joined(separator: ","))]}"#)
    }

    static func activeChecks(host: String, port: Int) async throws {
        let request = ZabbixFrames.plain(#"{"request":"active checks","host":"\#(host)","version":"6.0"}"#)
        try await TestThreads.start { () throws -> Void in
            let socket = try BlockingSocket.connect(port: port)
            defer { socket.close() }
            socket.setReceiveTimeout(seconds: 20)
            try socket.send(request)
            _ = try socket.receiveAll()
        }.value
    }

    /// Which file `path` is (inode and change time: an inode number can be reused), `nil` when
    /// it does not exist.
    static func inode(_ path: String) -> [Int]? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        return [Int(info.st_ino), info.st_ctim.tv_sec, info.st_ctim.tv_nsec]
    }

    /// Files in `directory` besides the catalog, each with its inode and change time.
    static func otherFiles(in directory: String) -> Set<[String]> {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return Set(
            names.filter { $0 != "catalog.jsonl" && $0 != "owner.pid" }.compactMap { name in
                Self.inode("\(directory)/\(name)").map { [name] + $0.map(String.init) }
            }
        )
    }

    static func catalog(_ path: String) throws -> ItemCatalogStore.LoadOutcome {
        try ItemCatalogStore(maximumEntries: 10_000_000, maximumPendingValues: 1, pendingTimeout: .seconds(1)).load(
            path: path
        )
    }

    @Test func killedDuringSavesTheTeeAlwaysRestartsWithTheLastWholeCatalog() async throws {
        let directory = try ZabbixLabDirectory.create("catalog-crash")
        defer { ZabbixLabDirectory.remove(directory) }
        chmod(directory, 0o700)
        let path = "\(directory)/catalog.jsonl"
        let itemsPerRound = 5_000
        var lastWhole = 0
        var killedMidSave = 0
        for round in 0..<5 {
            let server = try FaultyZabbixServer.start(
                .answerWith(Self.activeChecksReply(items: itemsPerRound, firstItemid: round * itemsPerRound + 1))
            )
            let port = try LoopbackPort.free()
            let tee = try await TeeProcess.start(
                configuration: """
                    listeners:
                    \(TeeProcess.listener(name: "agents", port: port, targets: [server.port]))
                    catalog:
                      path: \(path)
                      save_interval: 1s
                    """,
                ports: [port]
            )
            // A save is told apart by its temporary file, created exclusively (a stale one, left
            // by the previous kill, is removed first): inotify reports its creation however
            // briefly it lives, where polling the directory missed fast saves on a loaded machine.
            let stale = Self.otherFiles(in: directory)
            let saves = try DirectoryCreationWatch(directory: directory)
            try await Self.activeChecks(host: "crash-host-\(round)", port: port)
            if round == 0 {
                // The first round stops gracefully: the catalog is saved whole at shutdown.
                #expect(try await tee.stop() == 0)
            } else {
                let pid = tee.child.pid
                let killedAfterSaveStarted = try await TestThreads.start { () -> Bool in
                    let started = saves.waitForCreation(of: "catalog.jsonl.tmp", timeout: .seconds(20))
                    kill(pid, SIGKILL)
                    return started
                }.value
                #expect(killedAfterSaveStarted, "round \(round): no catalog save started within 20 s")
                if !Self.otherFiles(in: directory).subtracting(stale).isEmpty { killedMidSave += 1 }
                _ = try? await tee.stop()
            }
            try await server.stop()

            switch try Self.catalog(path) {
            case .missing:
                Issue.record("round \(round): the catalog saved whole at the first shutdown disappeared")
            case .loaded(let entries):
                // The killed save either had renamed its file over the catalog already, or not.
                #expect(
                    [lastWhole, lastWhole + itemsPerRound].contains(entries) || round == 0,
                    "round \(round): \(entries) after \(lastWhole)"
                )
                #expect(
                    entries > 0 && entries % itemsPerRound == 0,
                    "round \(round): a whole save holds whole replies: \(entries)"
                )
                lastWhole = entries
            case .setAside(let aside, let reason):
                Issue.record("round \(round): the catalog did not load (\(reason)), set aside as \(aside)")
            }
            let leftovers = try FileManager.default.contentsOfDirectory(atPath: directory).filter {
                $0 != "catalog.jsonl" && $0 != "owner.pid"
            }
            // At most the temporary file of the save that was killed: they do not pile up.
            #expect(
                leftovers.count <= 1 && leftovers.allSatisfy { $0 == "catalog.jsonl.tmp" },
                "round \(round): \(leftovers)"
            )
        }
        // The next start loads what the last whole save wrote, and sets nothing aside.
        let port = try LoopbackPort.free()
        let tee = try await TeeProcess.start(
            configuration: "listeners:\n" + TeeProcess.listener(name: "a", port: port, targets: [port])
                + "\ncatalog:\n  path: \(path)\n",
            ports: [port]
        )
        try await waitUntil("the start logged", timeout: .seconds(10)) { tee.log().contains("item catalog loaded") }
        #expect(tee.log().contains("entries=\(lastWhole)"), "\(tee.log())")
        #expect(try await tee.stop() == 0)
        #expect(killedMidSave > 0, "the kills landed during saves")
    }
}
