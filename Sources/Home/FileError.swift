#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A file operation of `FileIO` or `FileLock` that failed: what was done, to which path,
/// and the system's reason (or the lock's wait that ran out).
package enum FileError: Error, Sendable, Equatable, CustomStringConvertible {
    /// `operation` ("open", "fsync folder", "rename 'A' to") on `path` failed with `errno`.
    case io(operation: String, path: String, errno: Int32)
    /// Another process held the lock on `path` for longer than `seconds`.
    case lockTimeout(path: String, seconds: Double)

    /// What failed, the path in quotes, the reason, and what to do.
    package var description: String {
        switch self {
        case .io(let operation, let path, let code):
            let reason = String(cString: strerror(code))
            let hint = code == ENOSPC ? "; free some disk space and retry (nothing recorded was changed)" : ""
            return "\(operation) '\(path)' failed: \(reason)\(hint)"
        case .lockTimeout(let path, let seconds):
            return "lock '\(path)' was held by another process for more than \(Int(seconds)) s; find it with `fuser -v '\(path)'`"
        }
    }
}
