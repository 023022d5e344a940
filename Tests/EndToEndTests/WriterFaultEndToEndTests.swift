import Foundation
import Tee
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Writer faults against the real binary: a full disk under the recordings, a full or closed
/// standard error, a corrupt catalog at start. In each, the tee stays up and keeps relaying
/// byte for byte, and the fault is counted.
@Suite("writer faults", .tags(.integration), .tier(.integration), .serialized, .timeLimit(.minutes(3)))
struct WriterFaultEndToEndTests {
    /// A connection through the tee to an echo target: sends `bytes`, expects them back whole.
    static func echoes(_ bytes: [UInt8], port: Int) async throws -> Bool {
        try await TestThreads.start { () throws -> Bool in
            let socket = try BlockingSocket.connect(port: port)
            defer { socket.close() }
            socket.setReceiveTimeout(seconds: 20)
            let sender = TestThreads.start { try socket.send(bytes) }
            let received = try socket.receive(exactly: bytes.count)
            try sender.waitBlocking()
            return received == bytes
        }.value
    }

    static func configuration(port: Int, target: Int, admin: Int, extra: [String] = [], tail: String = "") -> String {
        """
        listeners:
        \(TeeProcess.listener(name: "agents", port: port, targets: [target], extra: extra))
        admin:
          listen: "127.0.0.1:\(admin)"
        \(tail)
        """
    }

    /// A 3 MiB frame through a listener that records onto a 1 MiB file system: the recording
    /// stops at ENOSPC mid-frame and says so, the frame is relayed byte for byte, the error is
    /// counted, and the next connection is relayed as well. (The tee used to die here:
    /// FileHandle.write traps on ENOSPC.)
    @Test(
        .enabled(
            if: TmpfsMount.isAvailable,
            "needs to mount a tmpfs (root, CAP_SYS_ADMIN); why it could not is printed"
        )
    )
    func aRecordingThatFillsTheDiskStopsWhileTheRelayStaysByteExact() async throws {
        let disk = try TmpfsMount.mount(sizeBytes: 1 << 20)
        defer { disk.unmount() }
        let target = try EchoTarget()
        defer { target.stop() }
        let (port, admin) = (try LoopbackPort.free(), try LoopbackPort.free())
        let tee = try await TeeProcess.start(
            configuration: Self.configuration(
                port: port,
                target: target.port,
                admin: admin,
                extra: ["record: \(disk.path)/rec"]
            ),
            ports: [port, admin]
        )
        do {
            let value = String(repeating: "v", count: 3 << 20)
            let frame = ZabbixFrames.plain(
                #"{"request":"sender data","data":[{"host":"h","key":"k","value":"\#(value)"}]}"#
            )
            #expect(try await Self.echoes(frame, port: port), "relayed byte for byte")
            let listener = [("listener", "agents")]
            try await waitUntil("the write error counted", timeout: .seconds(20)) {
                try MetricsScrape.get(port: admin).value("zabbix_tee_recording_write_errors_total", listener) == 1
            }
            #expect(try await Self.echoes(Array("after the disk filled".utf8), port: port), "still relaying")
            #expect(tee.child.isRunning)

            // The recording of the big frame: cut short, and its meta.json says why.
            try await waitUntil("the recording finished", timeout: .seconds(20)) {
                try RecordedConnection.all(in: "\(disk.path)/rec").contains {
                    $0.recording.incompleteReason == "write_error"
                }
            }
            let recording = try #require(
                try RecordedConnection.all(in: "\(disk.path)/rec").first {
                    $0.recording.incompleteReason == "write_error"
                }
            )
            #expect(recording.recording.complete == false)
            #expect(recording.recording.error == "No space left on device")
            #expect(recording.client.count < frame.count)
            #expect(Array(frame.prefix(recording.client.count)) == recording.client)
        } catch {
            _ = try? await tee.stop()
            throw error
        }
        #expect(try await tee.stop() == 0)
    }

    /// Standard error is a pipe nobody reads (a stalled log collector): debug lines for every
    /// connection fill it, and the tee drops and counts lines instead of blocking its event
    /// loops. Standard error closed altogether: the same, without SIGPIPE killing it. Both log
    /// formats.
    @Test(arguments: ["text", "json"], ["full", "closed"])
    func aBrokenLogOutputNeverStopsTheRelay(format: String, fault: String) async throws {
        var ends: [Int32] = [0, 0]
        try #require(pipe(&ends) == 0)
        let (readEnd, writeEnd) = (ends[0], ends[1])
        defer { close(writeEnd) }
        if fault == "closed" { close(readEnd) }
        defer { if fault == "full" { close(readEnd) } }
        let target = try EchoTarget()
        defer { target.stop() }
        let (port, admin) = (try LoopbackPort.free(), try LoopbackPort.free())
        let tee = try await TeeProcess.start(
            configuration: Self.configuration(port: port, target: target.port, admin: admin),
            ports: [port, admin],
            arguments: ["--log-level", "debug", "--log-format", format],
            stderrDescriptor: writeEnd
        )
        do {
            // Two debug lines per connection (about 200 bytes in text): up to 10 000 connections,
            // enough to overflow the pipe (64 KiB) and the tee's buffer (1 MiB) if nothing were
            // dropped; the loop stops as soon as drops are counted.
            var relayed = 0
            var dropped = 0.0
            for round in 0..<100 {
                for index in 0..<100 {
                    let message = Array("connection \(round)-\(index)".utf8)
                    if try await Self.echoes(message, port: port) { relayed += 1 }
                }
                dropped = try MetricsScrape.get(port: admin).value("zabbix_tee_log_lines_dropped_total")
                if dropped > 0 && round >= 1 { break }
            }
            #expect(dropped > 0, "lines were dropped and counted")
            #expect(relayed >= 200 && relayed % 100 == 0, "every connection relayed: \(relayed)")
            #expect(try await Self.echoes(Array(repeating: 0x5A, count: 1 << 20), port: port))
            #expect(try MetricsScrape.get(port: admin, path: "/health").text == "ok\n")
            #expect(tee.child.isRunning)
        } catch {
            _ = try? await tee.stop()
            throw error
        }
        #expect(try await tee.stop() == 0)
    }

    /// A catalog file cut short (a full disk under an older version, a copy gone wrong): the tee
    /// starts, keeps the file aside as `<path>.corrupt-<time>` byte for byte, counts it, and
    /// saves a fresh catalog at shutdown without touching the copy.
    @Test func aTruncatedCatalogAtStartIsSetAsideAndTheTeeStarts() async throws {
        let directory = try ZabbixLabDirectory.create("catalog-start")
        defer { ZabbixLabDirectory.remove(directory) }
        chmod(directory, 0o700)
        let path = "\(directory)/catalog.jsonl"
        var text = #"{"format":"zabbix-tee item catalog","version":1}"# + "\n"
        for itemid in 1...100 {
            text += #"{"ns":"agent:agents:h","itemid":\#(itemid),"key":"k.\#(itemid)","host":"h"}"# + "\n"
        }
        let truncated = Array(text.utf8.prefix(text.utf8.count - 20))
        #expect(FileManager.default.createFile(atPath: path, contents: Data(truncated)))
        let target = try EchoTarget()
        defer { target.stop() }
        let (port, admin) = (try LoopbackPort.free(), try LoopbackPort.free())
        let tee = try await TeeProcess.start(
            configuration: Self.configuration(
                port: port,
                target: target.port,
                admin: admin,
                tail: "catalog:\n  path: \(path)\n"
            ),
            ports: [port, admin]
        )
        let log = tee.log()
        let scrape = try MetricsScrape.get(port: admin)
        #expect(try await Self.echoes(Array("relayed".utf8), port: port))
        #expect(try await tee.stop() == 0)

        #expect(log.contains("cannot load the item catalog; the file is kept aside"), "\(log)")
        #expect(scrape.value("zabbix_tee_catalog_files_set_aside_total") == 1)
        let asides = try FileManager.default.contentsOfDirectory(atPath: directory).filter {
            $0.hasPrefix("catalog.jsonl.corrupt-")
        }
        #expect(asides.count == 1)
        #expect(
            asides.first.flatMap { FileManager.default.contents(atPath: "\(directory)/\($0)") }.map(Array.init)
                == truncated
        )
        let saved = ItemCatalogStore(maximumEntries: 1000, maximumPendingValues: 1, pendingTimeout: .seconds(1))
        #expect(try saved.load(path: path) == .loaded(entries: 0), "a fresh, whole catalog was saved at shutdown")
    }
}
