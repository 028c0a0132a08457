import Foundation

/// The user this process runs as, from the system's user database (`getpwuid_r` of
/// `geteuid()`), never from `$USER` or `$LOGNAME`, which whoever starts the process sets
/// as they like. Approvals and rejections record it as the person who decided.
package enum LocalUser {
    /// The effective user's login name; `uid N` when the database has no entry for it.
    package static var name: String {
        let uid = geteuid()
        var entry = passwd()
        var found: UnsafeMutablePointer<passwd>?
        var buffer = [CChar](repeating: 0, count: 16 * 1024)
        guard getpwuid_r(uid, &entry, &buffer, buffer.count, &found) == 0, found != nil, let name = entry.pw_name else {
            return "uid \(uid)"
        }
        return String(cString: name)
    }
}
