import Synchronization
import ZabbixProtocol

#if canImport(Glibc)
import Glibc
#endif

/// The catalog file: loaded at start, saved every `catalog.save_interval` and at shutdown.
///
/// A save replaces the file atomically (``AtomicFile``): a failure (a full disk, a read-only
/// directory) or a crash mid-save leaves the previous file whole; the failure is counted and the
/// catalog stays in memory, to be saved again at the next interval. A file that cannot be loaded
/// at start (truncated, corrupt, unreadable) is renamed to `<path>.corrupt-<UTC time>` and kept
/// for inspection: never overwritten by the empty catalog the tee then starts with.
extension ItemCatalogStore {
    /// Why the catalog file could not be used.
    public struct FileError: Error, CustomStringConvertible {
        public var description: String
    }

    /// What ``load(path:now:)`` found.
    public enum LoadOutcome: Sendable, Equatable {
        /// No file yet: the catalog starts empty.
        case missing
        /// The file was read; the catalog holds `entries` items and hosts.
        case loaded(entries: Int)
        /// The file could not be loaded (`reason`) and was renamed to `movedTo`; the catalog
        /// starts empty.
        case setAside(movedTo: String, reason: String)
    }

    /// Loads the catalog from `path`. A missing file is an empty catalog; a file that does not
    /// load is set aside (renamed with `.corrupt-<time>`, `now` in UTC) and counted. Throws only
    /// when such a file cannot be set aside either: saving is then disabled, so that it is never
    /// overwritten.
    @discardableResult
    public func load(path: String, now: timespec = ItemCatalogStore.wallClock()) throws(FileError) -> LoadOutcome {
        let reason: String
        switch FileReading.readAll(path: path, limit: 1 << 30) {
        case .failure(let error) where error.code == ENOENT:
            return .missing
        case .failure(let error):
            reason = "\(error)"
        case .success(let bytes):
            let (maximum, perProxy) = self.state.withLock {
                ($0.catalog.maximumEntries, $0.catalog.maximumEntriesPerProxy)
            }
            do {
                let catalog = try ItemCatalog(
                    serialized: bytes,
                    maximumEntries: maximum,
                    maximumEntriesPerProxy: perProxy
                )
                let entries = self.state.withLock { state in
                    state.catalog = catalog
                    return catalog.count
                }
                return .loaded(entries: entries)
            } catch {
                reason = "\(error)"
            }
        }
        self.fileStatistics.setAside.add(1, ordering: .relaxed)
        let aside: String
        switch Self.setAside(path, as: Self.asidePath(for: path, now: now)) {
        case .success(let moved):
            aside = moved
        case .failure(let error):
            self.fileStatistics.savingDisabled.store(true, ordering: .relaxed)
            throw FileError(
                description:
                    "\(path): \(reason); cannot set it aside (\(error)), so the catalog will not be saved over it"
            )
        }
        return .setAside(movedTo: aside, reason: reason)
    }

    /// Writes the catalog to `path` atomically (``AtomicFile``), readable by the owner only.
    /// Does nothing when nothing changed, unless `force`. Returns whether it wrote. A failure is
    /// counted and leaves the file as it was; the changes stay pending for the next save.
    @discardableResult
    public func save(path: String, force: Bool = false) throws(FileError) -> Bool {
        guard !self.fileStatistics.savingDisabled.load(ordering: .relaxed) else {
            throw FileError(description: "\(path): not saved: the file found at start could not be set aside")
        }
        let bytes: [UInt8]? = self.state.withLock { state in
            guard state.changedSinceSave || force else { return nil }
            state.changedSinceSave = false
            return state.catalog.serialized()
        }
        guard let bytes else { return false }
        do {
            try AtomicFile.write(bytes, to: path, mode: 0o600)
        } catch {
            self.state.withLock { $0.changedSinceSave = true }
            self.fileStatistics.saveFailures.add(1, ordering: .relaxed)
            throw FileError(description: "\(path): \(error)")
        }
        return true
    }

    /// Saves that failed (`zabbix_tee_catalog_save_failures_total`).
    public var saveFailureCount: Int { self.fileStatistics.saveFailures.load(ordering: .relaxed) }
    /// Catalog files set aside at start (`zabbix_tee_catalog_files_set_aside_total`).
    public var setAsideCount: Int { self.fileStatistics.setAside.load(ordering: .relaxed) }

    /// Moves `path` to `name` (or `name.1`, `name.2`... when taken), never replacing a file.
    /// `link` + `unlink` where hard links work (link(2) fails rather than replace), else `rename`
    /// after checking the name is free.
    static func setAside(_ path: String, as name: String) -> Result<String, SystemError> {
        for attempt in 0..<100 {
            let candidate = attempt == 0 ? name : "\(name).\(attempt)"
            if link(path, candidate) == 0 {
                unlink(path)
                return .success(candidate)
            }
            if errno == EEXIST { continue }
            if access(candidate, F_OK) == 0 { continue }
            guard rename(path, candidate) == 0 else { return .failure(.current) }
            return .success(candidate)
        }
        return .failure(SystemError(code: EEXIST))
    }

    /// `<path>.corrupt-20240501T101500Z`.
    static func asidePath(for path: String, now: timespec) -> String {
        var seconds = now.tv_sec
        var parts = tm()
        gmtime_r(&seconds, &parts)
        var text = [CChar](repeating: 0, count: 32)
        let length = strftime(&text, text.count, "%Y%m%dT%H%M%SZ", &parts)
        let stamp = String(decoding: text.prefix(length).map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return "\(path).corrupt-\(stamp)"
    }

    /// The current wall-clock time.
    public static func wallClock() -> timespec {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return now
    }
}

/// Counters of the catalog file, shared with `/metrics`.
final class CatalogFileStatistics: Sendable {
    let saveFailures = Atomic<Int>(0)
    let setAside = Atomic<Int>(0)
    /// A file that could not be loaded could not be set aside either: never save over it.
    let savingDisabled = Atomic<Bool>(false)
}
