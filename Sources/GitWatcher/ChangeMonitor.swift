import Foundation

/// Wakes a waiting loop when files change in watched folders (inotify). Not recursive:
/// callers pair it with a periodic scan, which is also what catches anything missed.
package final class ChangeMonitor {
    private let fd: Int32
    private var watched: Set<String> = []

    package init() throws {
        fd = inotify_init1(Int32(IN_CLOEXEC | IN_NONBLOCK))
        guard fd >= 0 else { throw BuildQueueError("inotify_init1 failed: \(String(cString: strerror(errno)))") }
    }

    deinit { close(fd) }

    /// Watches a folder for files created, renamed into it, written or deleted; a folder
    /// that does not exist (yet) is skipped.
    package func watch(_ folder: String) {
        guard !watched.contains(folder) else { return }
        let mask = UInt32(IN_CREATE | IN_MOVED_TO | IN_CLOSE_WRITE | IN_DELETE)
        if inotify_add_watch(fd, folder, mask) >= 0 { watched.insert(folder) }
    }

    /// Waits up to `timeout` seconds for a change; true when one came. Drains the events.
    /// A timeout above 0 blocks its thread: the agent asks with 0 between sleeps on its
    /// clock (`Agent.Changes`).
    @discardableResult
    package func wait(timeout: Double) -> Bool {
        var descriptor = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        let ready = poll(&descriptor, 1, Int32(max(0, timeout * 1000)))
        guard ready > 0 else { return false }
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        while read(fd, &buffer, buffer.count) > 0 {}
        return true
    }
}

/// A failure of the queue or the watcher's machinery.
package struct BuildQueueError: Error, CustomStringConvertible {
    package var description: String
    package init(_ description: String) { self.description = description }
}
