#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An exclusive advisory lock (`flock`) on a lock file. The kernel releases it when the
/// holder exits, even by `kill -9`, so a lock can never go stale.
final class FileLock {
    /// The lock file's path (updated by a holder that renames the file).
    var path: String
    private let fd: Int32

    /// Blocks until the lock on `path` (created when missing) is held, polling with
    /// growing waits; gives up after `timeout` seconds with an error that says how to find
    /// the holder.
    convenience init(path: String, timeout: Double = 60) throws(RegistryError) {
        let fd = open(path, O_RDWR | O_CLOEXEC | O_CREAT, 0o644)
        guard fd >= 0 else { throw .io(operation: "open lock", path: path, errno: errno) }
        try Self.wait(fd: fd, path: path, timeout: timeout)
        self.init(adopting: fd, path: path)
    }

    /// Like `init(path:timeout:)` for a file that must already exist; nil when it does not.
    static func existing(path: String, timeout: Double = 60) throws(RegistryError) -> FileLock? {
        let fd = open(path, O_RDWR | O_CLOEXEC)
        if fd < 0 {
            if errno == ENOENT { return nil }
            throw .io(operation: "open lock", path: path, errno: errno)
        }
        try wait(fd: fd, path: path, timeout: timeout)
        return FileLock(adopting: fd, path: path)
    }

    private static func wait(fd: Int32, path: String, timeout: Double) throws(RegistryError) {
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

    /// Takes the lock on an existing file without waiting; nil when the file is gone or
    /// another process holds the lock.
    static func tryLock(path: String) -> FileLock? {
        let fd = open(path, O_RDWR | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            close(fd)
            return nil
        }
        return FileLock(adopting: fd, path: path)
    }

    private init(adopting fd: Int32, path: String) {
        self.fd = fd
        self.path = path
    }

    /// True when the locked file has been unlinked since it was opened (another process
    /// finished with it).
    var isUnlinked: Bool {
        var info = stat()
        return fstat(fd, &info) == 0 && info.st_nlink == 0
    }

    deinit {
        close(fd)  // closing the descriptor releases the flock
    }
}
