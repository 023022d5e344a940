#if canImport(Glibc)
import Glibc
#endif

/// The directory a listener records into: created 0700, checked before anything is written into
/// it, and measured against the recording limits.
///
/// Recordings hold the monitored data in clear (item values, and the proxy configuration with
/// its macro values, which may be secrets), so the directory must be the tee's own: one that
/// another user owns or anyone may write to is refused (another user could read the recordings,
/// or plant a symlink where a recording is about to be created).
enum RecordingDirectory {
    /// Why a directory is refused or worth a warning.
    enum Finding: Sendable, Hashable, CustomStringConvertible {
        /// Anyone may create, rename or delete entries in it.
        case worldWritable
        /// Owned by another user (uid).
        case ownedByAnotherUser(uid: UInt32)
        /// Not a directory.
        case notADirectory
        /// Members of its group may write to it (a warning only).
        case groupWritable

        /// Whether recording into it is refused.
        var refuses: Bool {
            switch self {
            case .worldWritable, .ownedByAnotherUser, .notADirectory: return true
            case .groupWritable: return false
            }
        }

        var description: String {
            switch self {
            case .worldWritable: return "is writable by every user"
            case .ownedByAnotherUser(let uid): return "belongs to another user (uid \(uid))"
            case .notADirectory: return "is not a directory"
            case .groupWritable: return "is writable by its group"
            }
        }
    }

    /// What is wrong with an existing `path` (empty when nothing, or when it does not exist yet).
    static func inspect(_ path: String) -> [Finding] {
        var info = stat()
        guard stat(path, &info) == 0 else { return [] }
        return self.findings(mode: info.st_mode, owner: info.st_uid, user: geteuid())
    }

    /// The findings for a directory entry with `mode` and `owner`, checked for `user`: pure, for tests.
    static func findings(mode: mode_t, owner: uid_t, user: uid_t) -> [Finding] {
        guard mode & S_IFMT == S_IFDIR else { return [.notADirectory] }
        var findings: [Finding] = []
        if owner != user { findings.append(.ownedByAnotherUser(uid: UInt32(owner))) }
        if mode & S_IWOTH != 0 { findings.append(.worldWritable) }
        if mode & S_IWGRP != 0 { findings.append(.groupWritable) }
        return findings
    }

    /// Creates `path` (mode 0700) unless it exists, then checks it. Returns the findings that
    /// refuse it, or a system error; `[]` when it may be recorded into.
    static func prepare(_ path: String) -> Result<[Finding], SystemError> {
        if mkdir(path, 0o700) != 0, errno != EEXIST {
            return .failure(.current)
        }
        return .success(self.inspect(path).filter(\.refuses))
    }

    /// Recordings (subdirectories) in `path` and the bytes of the files in them, to start the
    /// budget from what is already there.
    static func usage(of path: String) -> (recordings: Int, bytes: Int) {
        var recordings = 0
        var bytes = 0
        for entry in self.entries(of: path) {
            var info = stat()
            guard lstat("\(path)/\(entry)", &info) == 0, info.st_mode & S_IFMT == S_IFDIR else { continue }
            recordings += 1
            for file in self.entries(of: "\(path)/\(entry)") {
                var fileInfo = stat()
                if lstat("\(path)/\(entry)/\(file)", &fileInfo) == 0, fileInfo.st_mode & S_IFMT == S_IFREG {
                    bytes += Int(fileInfo.st_size)
                }
            }
        }
        return (recordings, bytes)
    }

    /// Names in directory `path`, without `.` and `..`; empty when it cannot be read.
    private static func entries(of path: String) -> [String] {
        guard let directory = opendir(path) else { return [] }
        defer { closedir(directory) }
        var names: [String] = []
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }
}
