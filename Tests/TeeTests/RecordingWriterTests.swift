import Foundation
import Logging
import NIOCore
import Relay
import TestSupport
import Testing

@testable import Tee

#if canImport(Glibc)
import Glibc
#endif

/// Recordings fail safe: a write error or a limit stops the recording (its meta.json says why),
/// the directory is the tee's own, and meta.json exists from the start.
@Suite(.timeLimit(.minutes(1)))
struct RecordingWriterTests {
    static let logger: Logger = {
        var logger = Logger(label: "recording-test")
        logger.logLevel = .critical
        return logger
    }()

    static func info(_ id: UInt64, listener: String = "agents") -> RelayConnectionInfo {
        RelayConnectionInfo(
            id: id,
            listener: listener,
            client: try? SocketAddress(ipAddress: "127.0.0.1", port: 40000),
            local: nil,
            target: Endpoint(host: "127.0.0.1", port: 10051)
        )
    }

    static func directory() throws -> String {
        let directory = try ZabbixLabDirectory.create("record")
        chmod(directory, 0o700)
        return directory
    }

    /// Recording directories under `path` by connection id, with their parsed meta.json.
    static func recordings(in path: String) throws -> [UInt64: (directory: String, meta: FixtureRecording)] {
        var found: [UInt64: (String, FixtureRecording)] = [:]
        for entry in (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? [] {
            guard let data = FileManager.default.contents(atPath: "\(path)/\(entry)/meta.json") else { continue }
            let meta = try FixtureRecording(json: data)
            found[meta.connection ?? 0] = ("\(path)/\(entry)", meta)
        }
        return found
    }

    static func contents(_ path: String) -> [UInt8] {
        FileManager.default.contents(atPath: path).map(Array.init) ?? []
    }

    static func bytes(_ count: Int, seed: UInt8) -> [UInt8] {
        (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ Int(seed)) }
    }

    // MARK: The budget (no files)

    @Test func theBudgetAdmitsRecordingsUntilEitherLimitAndGrantsBytesUpToMaxBytes() {
        var budget = RecordingBudget(maximumBytes: 1000, maximumRecordings: 2, usedBytes: 100, usedRecordings: 0)
        let admitted = budget.admitRecording()
        let grants = [budget.grant(bytes: 600), budget.grant(bytes: 600), budget.grant(bytes: 1)]
        let admittedOverBytes = budget.admitRecording()
        #expect(admitted)
        #expect(grants == [600, 300, 0], "only what is left under max_bytes")
        #expect(!admittedOverBytes, "max_bytes reached")
        var files = RecordingBudget(maximumBytes: 1000, maximumRecordings: 2, usedBytes: 0, usedRecordings: 1)
        let admissions = [files.admitRecording(), files.admitRecording()]
        #expect(admissions == [true, false], "max_files reached, counting what was there at start")
    }

    // MARK: The writer

    @Test func metaJsonIsWrittenWhenTheRecordingStartsAndSaysFinishedWhenItEnds() async throws {
        let directory = try Self.directory()
        defer { ZabbixLabDirectory.remove(directory) }
        let statistics = RecordingStatistics()
        let writer = RecordingWriter(
            configuration: RecordingConfiguration(path: "\(directory)/rec"),
            statistics: statistics,
            logger: Self.logger
        )
        let client = Self.bytes(5000, seed: 1)
        let server = Self.bytes(300, seed: 2)
        writer.submit(.open(Self.info(1)))
        writer.submit(.bytes(1, .clientToServer, ByteBuffer(bytes: client)))
        try await waitUntil("meta.json of the open recording", timeout: .seconds(10), interval: .milliseconds(10)) {
            try Self.recordings(in: "\(directory)/rec")[1] != nil
        }
        let early = try #require(try Self.recordings(in: "\(directory)/rec")[1])
        #expect(early.meta.finished == false)
        #expect(early.meta.complete == false)
        #expect(early.meta.incompleteReason == "open")
        writer.submit(.bytes(1, .serverToClient, ByteBuffer(bytes: server)))
        writer.submit(.close(1))
        await writer.shutdown()

        let recording = try #require(try Self.recordings(in: "\(directory)/rec")[1])
        #expect(recording.meta.finished == true)
        #expect(recording.meta.complete == true)
        #expect(recording.meta.incompleteReason == nil)
        #expect(recording.meta.clientBytes == client.count)
        #expect(recording.meta.serverBytes == server.count)
        #expect(Self.contents("\(recording.directory)/client.bin") == client)
        #expect(Self.contents("\(recording.directory)/server.bin") == server)
        #expect(statistics.byListener["agents"]?.complete == 1)
        let mode = try FileManager.default.attributesOfItem(atPath: "\(directory)/rec")[.posixPermissions] as? Int
        #expect(mode == 0o700)
    }

    @Test func recordingsStillOpenAtShutdownAreFinishedAsIncomplete() async throws {
        let directory = try Self.directory()
        defer { ZabbixLabDirectory.remove(directory) }
        let statistics = RecordingStatistics()
        let writer = RecordingWriter(
            configuration: RecordingConfiguration(path: directory + "/rec"),
            statistics: statistics,
            logger: Self.logger
        )
        writer.submit(.open(Self.info(7)))
        writer.submit(.bytes(7, .clientToServer, ByteBuffer(bytes: Self.bytes(10, seed: 3))))
        await writer.shutdown()
        let recording = try #require(try Self.recordings(in: "\(directory)/rec")[7])
        #expect(recording.meta.finished == true)
        #expect(recording.meta.complete == false)
        #expect(recording.meta.incompleteReason == "shutdown")
        #expect(statistics.byListener["agents"]?.incomplete == 1)
    }

    /// Stop, not rotate: nothing already recorded is deleted; the connection that crosses
    /// max_bytes is cut there; connections beyond max_files are not recorded, and counted.
    @Test func theLimitsStopRecordingAndNothingIsDeleted() async throws {
        let directory = try Self.directory()
        defer { ZabbixLabDirectory.remove(directory) }
        let path = "\(directory)/rec"
        mkdir(path, 0o700)
        mkdir("\(path)/an-older-recording", 0o700)  // found at start: counts against max_files
        let statistics = RecordingStatistics()
        let writer = RecordingWriter(
            configuration: RecordingConfiguration(path: path, maximumBytes: 64 * 1024, maximumRecordings: 3),
            statistics: statistics,
            logger: Self.logger
        )
        let large = Self.bytes(100 * 1024, seed: 4)
        writer.submit(.open(Self.info(1)))
        writer.submit(.bytes(1, .clientToServer, ByteBuffer(bytes: large)))
        writer.submit(.close(1))
        writer.submit(.open(Self.info(2)))  // admitted (2 of 3 files) but max_bytes is spent: skipped
        writer.submit(.close(2))
        await writer.shutdown()

        let recordings = try Self.recordings(in: path)
        let first = try #require(recordings[1])
        #expect(first.meta.complete == false)
        #expect(first.meta.incompleteReason == "max_bytes")
        #expect(first.meta.finished == true)
        let written = Self.contents("\(first.directory)/client.bin")
        #expect(written.count < large.count)
        #expect(Array(large.prefix(written.count)) == written, "a prefix of what was relayed")
        #expect(recordings[2] == nil)
        #expect(FileManager.default.fileExists(atPath: "\(path)/an-older-recording"))
        #expect(statistics.byListener["agents"]?.skipped[.limit] == 1)

        let counted = RecordingStatistics()
        let files = RecordingWriter(
            configuration: RecordingConfiguration(path: path, maximumBytes: 1 << 30, maximumRecordings: 3),
            statistics: counted,
            logger: Self.logger
        )
        for id: UInt64 in 10...12 {
            files.submit(.open(Self.info(id)))
            files.submit(.close(id))
        }
        await files.shutdown()
        // Two recordings were there at start (the older one and #1): one more fits.
        #expect(counted.byListener["agents"]?.complete == 1)
        #expect(counted.byListener["agents"]?.skipped[.limit] == 2)
    }

    @Test(arguments: [0o777, 0o1777])
    func aDirectoryEveryoneMayWriteToIsRefused(_ mode: Int) async throws {
        let directory = try Self.directory()
        defer { ZabbixLabDirectory.remove(directory) }
        let path = "\(directory)/shared"
        mkdir(path, 0o700)
        chmod(path, mode_t(mode))
        let statistics = RecordingStatistics()
        let writer = RecordingWriter(
            configuration: RecordingConfiguration(path: path),
            statistics: statistics,
            logger: Self.logger
        )
        writer.submit(.open(Self.info(1)))
        writer.submit(.bytes(1, .clientToServer, ByteBuffer(bytes: [1, 2, 3])))
        writer.submit(.close(1))
        await writer.shutdown()
        #expect(try FileManager.default.contentsOfDirectory(atPath: path).isEmpty, "nothing written there")
        #expect(statistics.byListener["agents"]?.skipped[.error] == 1)
        #expect(RecordingDirectory.inspect(path).contains(.worldWritable))
    }

    @Test func directoryFindingsRefuseAnotherOwnerAndEveryoneWritableAndWarnAboutGroupWritable() {
        let directory = S_IFDIR
        #expect(RecordingDirectory.findings(mode: directory | 0o700, owner: 1000, user: 1000).isEmpty)
        #expect(
            RecordingDirectory.findings(mode: directory | 0o700, owner: 0, user: 1000) == [.ownedByAnotherUser(uid: 0)]
        )
        #expect(RecordingDirectory.findings(mode: directory | 0o1777, owner: 1000, user: 1000).contains(.worldWritable))
        let group = RecordingDirectory.findings(mode: directory | 0o770, owner: 1000, user: 1000)
        #expect(group == [.groupWritable])
        #expect(!group.contains { $0.refuses })
        #expect(RecordingDirectory.findings(mode: S_IFREG | 0o600, owner: 1000, user: 1000) == [.notADirectory])
    }

    /// ENOSPC in the middle of a buffer: the recording stops there, its meta.json says so (it
    /// was written when the recording started, and is rewritten in place), the error is counted,
    /// and the next connection is handled without trouble.
    @Test(
        .enabled(
            if: TmpfsMount.isAvailable,
            "needs to mount a tmpfs (root, CAP_SYS_ADMIN); why it could not is printed"
        )
    )
    func aFullDiskStopsTheRecordingAndItsMetaSaysWhy() async throws {
        let disk = try TmpfsMount.mount(sizeBytes: 512 * 1024)
        defer { disk.unmount() }
        let statistics = RecordingStatistics()
        let writer = RecordingWriter(
            configuration: RecordingConfiguration(path: "\(disk.path)/rec"),
            statistics: statistics,
            logger: Self.logger
        )
        let frame = Self.bytes(3 << 20, seed: 5)
        writer.submit(.open(Self.info(1)))
        writer.submit(.bytes(1, .clientToServer, ByteBuffer(bytes: frame)))
        writer.submit(.bytes(1, .serverToClient, ByteBuffer(bytes: [1, 2, 3])))
        writer.submit(.close(1))
        writer.submit(.open(Self.info(2)))
        writer.submit(.close(2))
        await writer.shutdown()

        let recordings = try Self.recordings(in: "\(disk.path)/rec")
        let first = try #require(recordings[1])
        #expect(first.meta.complete == false)
        #expect(first.meta.incompleteReason == "write_error")
        #expect(first.meta.error == "No space left on device")
        #expect(first.meta.finished == true)
        let written = Self.contents("\(first.directory)/client.bin")
        #expect(written.count > 0 && written.count < frame.count)
        #expect(Array(frame.prefix(written.count)) == written)
        #expect(first.meta.clientBytes == written.count)
        #expect(statistics.byListener["agents"]?.writeErrors == 1)
        #expect(statistics.byListener["agents"]?.incomplete == 1)
        let second =
            (statistics.byListener["agents"]?.complete ?? 0) + (statistics.byListener["agents"]?.skipped[.error] ?? 0)
        #expect(second == 1, "the next connection was recorded (its files are empty) or counted as not recorded")
    }
}
