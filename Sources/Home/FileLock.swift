#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An exclusive advisory lock (`flock`) on a lock file, held until the value is released.
/// The kernel releases it when the holder exits, even by `kill -9`, so a lock can never go
/// stale. A holder may write its pid into the file (`record(pid:)`) so that "lock held"
/// messages can name it (`holder(of:)`).
package final class FileLock: Sendable {
    /// The lock file's path when it was locked.
    package let path: String
    private let fd: Int32

    /// Blocks until the lock on `path` (created when missing) is held, polling with
    /// growing waits (20 µs up to 1 ms); gives up after `timeout` seconds with
    /// `FileError.lockTimeout`, whose message says how to find the holder.
    package convenience init(path: String, timeout: Double = 60) throws(FileError) {
        let fd = open(path, O_RDWR | O_CLOEXEC | O_CREAT, 0o644)
        guard fd >= 0 else { throw .io(operation: "open lock", path: path, errno: errno) }
        try Self.wait(fd: fd, path: path, timeout: timeout)
        self.init(adopting: fd, path: path)
    }

    /// Like `init(path:timeout:)` for a file that must already exist; nil when it does not.
    package static func existing(path: String, timeout: Double = 60) throws(FileError) -> FileLock? {
        let fd = open(path, O_RDWR | O_CLOEXEC)
        if fd < 0 {
            if errno == ENOENT { return nil }
            throw .io(operation: "open lock", path: path, errno: errno)
        }
        try wait(fd: fd, path: path, timeout: timeout)
        return FileLock(adopting: fd, path: path)
    }

    /// Takes the lock without waiting: nil when another process holds it, or when the file
    /// is missing and `creating` is false. Throws when the file cannot be opened otherwise.
    package static func attempt(path: String, creating: Bool = false) throws(FileError) -> FileLock? {
        let fd = open(path, O_RDWR | O_CLOEXEC | (creating ? O_CREAT : 0), 0o644)
        if fd < 0 {
            if errno == ENOENT && !creating { return nil }
            throw .io(operation: "open lock", path: path, errno: errno)
        }
        while flock(fd, LOCK_EX | LOCK_NB) != 0 {
            let code = errno
            if code == EINTR { continue }
            close(fd)
            if code == EWOULDBLOCK { return nil }
            throw .io(operation: "flock", path: path, errno: code)
        }
        return FileLock(adopting: fd, path: path)
    }

    /// Takes the lock on `path` (created when missing), waiting for it without holding a
    /// thread: it tries every `poll` until it succeeds or the task is cancelled.
    package static func waiting(path: String, poll: Duration = .milliseconds(200)) async throws -> FileLock {
        while true {
            if let lock = try attempt(path: path, creating: true) { return lock }
            try await Task.sleep(for: poll)
        }
    }

    /// The pid written in the lock file at `path` while a process holds it; nil when nobody
    /// holds it (or the file is missing), -1 when its holder wrote no pid.
    package static func holder(of path: String) -> Int32? {
        let fd = open(path, O_RDWR | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        if flock(fd, LOCK_EX | LOCK_NB) == 0 {
            flock(fd, LOCK_UN)
            return nil
        }
        var buffer = [UInt8](repeating: 0, count: 32)
        let n = pread(fd, &buffer, buffer.count, 0)
        let text = String(decoding: buffer.prefix(max(0, n)), as: UTF8.self).filter { !$0.isWhitespace }
        return Int32(text) ?? -1
    }

    /// Writes `pid` into the lock file, for `holder(of:)` and for people (`cat agent.lock`).
    package func record(pid: Int32) {
        ftruncate(fd, 0)
        let text = Array("\(pid)\n".utf8)
        _ = pwrite(fd, text, text.count, 0)
    }

    /// True when the locked file has been unlinked since it was opened (another process
    /// finished with it).
    package var isUnlinked: Bool {
        var info = stat()
        return fstat(fd, &info) == 0 && info.st_nlink == 0
    }

    private static func wait(fd: Int32, path: String, timeout: Double) throws(FileError) {
        var waitedMicros: Double = 0
        var pause: UInt32 = 20
        while flock(fd, LOCK_EX | LOCK_NB) != 0 {
            let code = errno
            guard code == EWOULDBLOCK || code == EINTR else {
                close(fd)
                throw .io(operation: "flock", path: path, errno: code)
            }
            if waitedMicros > timeout * 1_000_000 {
                close(fd)
                throw .lockTimeout(path: path, seconds: timeout)
            }
            usleep(pause)
            waitedMicros += Double(pause)
            pause = min(pause * 2, 1_000)
        }
    }

    private init(adopting fd: Int32, path: String) {
        self.fd = fd
        self.path = path
    }

    deinit {
        close(fd)  // closing the descriptor releases the flock
    }
}
