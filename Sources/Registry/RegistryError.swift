import Home

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What went wrong in the registry. Each case names the subject and says what to do.
public enum RegistryError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A write's condition did not hold; `current` is the item's version (nil: absent).
    case conditionFailed(table: String, key: ItemKey, condition: Condition, current: Int?)
    /// A table name that is not allowed.
    case invalidTableName(String, reason: String)
    /// A key that is not allowed (empty, or invalid for the table).
    case invalidKey(table: String, key: ItemKey, reason: String)
    /// A request the registry cannot carry out as asked (bad update, bad transaction).
    case invalidRequest(String)
    /// A file that should hold an item or registry metadata but does not parse.
    case corrupt(path: String, reason: String)
    /// The registry on disk has a format this program does not know.
    case unsupportedFormat(path: String, found: String)
    /// A system call failed.
    case io(operation: String, path: String, errno: Int32)
    /// A lock was held by another process for longer than the timeout.
    case lockTimeout(path: String, seconds: Double)

    public var description: String {
        switch self {
        case .conditionFailed(let table, let key, let condition, let current):
            let state = current.map { "is at version \($0)" } ?? "does not exist"
            let hint: String
            switch condition {
            case .absent: hint = "it already exists; read it and update it, or drop --if-absent"
            case .exists: hint = "create it first"
            case .version: hint = "read it again and retry with --if-version \(current.map(String.init) ?? "N")"
            case .none: hint = "retry"
            }
            return "condition \(condition) failed: item \(key) in table '\(table)' \(state); \(hint)"
        case .invalidTableName(let name, let reason):
            return "invalid table name '\(name)': \(reason); use 1 to 200 characters of A-Z a-z 0-9 _ - . not starting with '.'"
        case .invalidKey(let table, let key, let reason):
            return "invalid key \(key) for table '\(table)': \(reason)"
        case .invalidRequest(let message):
            return message
        case .corrupt(let path, let reason):
            return "corrupt registry file '\(path)': \(reason); restore it from a backup, or move it out of the registry folder"
        case .unsupportedFormat(let path, let found):
            return "registry '\(path)' has format \(found), but this slipway reads format \(Registry.formatVersion); use a newer slipway"
        case .io(let operation, let path, let code):
            return FileError.io(operation: operation, path: path, errno: code).description
        case .lockTimeout(let path, let seconds):
            return FileError.lockTimeout(path: path, seconds: seconds).description
        }
    }
}
