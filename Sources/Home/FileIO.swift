#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// POSIX file operations with the durability the registry promises, git's `lockfile.h`
/// way: data reaches the disk (fsync) before a rename makes it visible, and the rename
/// itself is made durable by an fsync of the folder. Readers never take locks. Every
/// failure is a `FileError` naming the operation and the path.
package enum FileIO {
    /// The bytes of the file at `path`, or nil when it does not exist.
    package static func read(_ path: String) throws(FileError) -> [UInt8]? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 {
            if errno == ENOENT || errno == ENOTDIR { return nil }
            throw .io(operation: "open", path: path, errno: errno)
        }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw .io(operation: "stat", path: path, errno: errno) }
        var bytes = [UInt8](repeating: 0, count: max(Int(info.st_size), 0))
        var filled = 0
        while true {
            if filled == bytes.count { bytes.append(contentsOf: repeatElement(0, count: 4096)) }
            let n = bytes.withUnsafeMutableBytes { buffer in
                Glibc.read(fd, buffer.baseAddress! + filled, buffer.count - filled)
            }
            if n < 0 {
                if errno == EINTR { continue }
                throw .io(operation: "read", path: path, errno: errno)
            }
            if n == 0 { break }
            filled += n
        }
        bytes.removeSubrange(filled...)
        return bytes
    }

    /// Writes `bytes` to `path` atomically and durably: a temporary file beside it, fsync,
    /// rename over the target, fsync of the folder.
    package static func writeDurably(_ bytes: [UInt8], to path: String) throws(FileError) {
        let temp = try writeTemporary(bytes, beside: path)
        try rename(temp, to: path)
        try syncDirectory(parent(of: path))
    }

    /// Writes `bytes` to a new, fsynced temporary file in the folder of `path` and returns
    /// its path. Temporary names start with `.tmp-` so listings skip them.
    package static func writeTemporary(_ bytes: [UInt8], beside path: String) throws(FileError) -> String {
        let temp = parent(of: path) + "/.tmp-\(getpid())-\(UInt64.random(in: 0...UInt64.max))"
        let fd = open(temp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw .io(operation: "create", path: temp, errno: errno) }
        var written = 0
        while written < bytes.count {
            let n = bytes.withUnsafeBytes { buffer in
                write(fd, buffer.baseAddress! + written, buffer.count - written)
            }
            if n < 0 {
                if errno == EINTR { continue }
                let code = errno
                close(fd)
                unlink(temp)
                throw .io(operation: "write", path: temp, errno: code)
            }
            written += n
        }
        if fsync(fd) != 0 {
            let code = errno
            close(fd)
            unlink(temp)
            throw .io(operation: "fsync", path: temp, errno: code)
        }
        close(fd)
        return temp
    }

    /// Renames `from` over `to` (atomic on one file system).
    package static func rename(_ from: String, to: String) throws(FileError) {
        guard Glibc.rename(from, to) == 0 else { throw .io(operation: "rename '\(from)' to", path: to, errno: errno) }
    }

    /// Creates `path` exclusively from `bytes`: fails with EEXIST (returns false) when the
    /// file already exists. Durable like `writeDurably`.
    package static func createExclusively(_ bytes: [UInt8], at path: String) throws(FileError) -> Bool {
        let temp = try writeTemporary(bytes, beside: path)
        defer { unlink(temp) }
        if link(temp, path) != 0 {
            if errno == EEXIST { return false }
            throw .io(operation: "link", path: path, errno: errno)
        }
        try syncDirectory(parent(of: path))
        return true
    }

    /// Removes the file at `path`; returns false when it did not exist.
    @discardableResult
    package static func remove(_ path: String) throws(FileError) -> Bool {
        if unlink(path) == 0 { return true }
        if errno == ENOENT { return false }
        throw .io(operation: "unlink", path: path, errno: errno)
    }

    /// fsyncs a folder so that renames and unlinks in it survive a power cut.
    package static func syncDirectory(_ path: String) throws(FileError) {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw .io(operation: "open folder", path: path, errno: errno) }
        defer { close(fd) }
        guard fsync(fd) == 0 else { throw .io(operation: "fsync folder", path: path, errno: errno) }
    }

    /// Creates `path` and any missing parents, then fsyncs its parent, also when the folder
    /// already existed: another process may have created it without having fsynced yet.
    package static func makeDirectories(_ path: String) throws(FileError) {
        if mkdir(path, 0o755) == 0 {
            try syncDirectory(parent(of: path))
            return
        }
        switch errno {
        case EEXIST:
            try syncDirectory(parent(of: path))
        case ENOENT:
            try makeDirectories(parent(of: path))
            try makeDirectories(path)
        default: throw .io(operation: "mkdir", path: path, errno: errno)
        }
    }

    /// The names in a folder (without `.` and `..`), or nil when it does not exist.
    package static func list(_ path: String) throws(FileError) -> [String]? {
        guard let dir = opendir(path) else {
            if errno == ENOENT || errno == ENOTDIR { return nil }
            throw .io(operation: "list", path: path, errno: errno)
        }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }

    /// True when `path` is a folder.
    package static func isDirectory(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFDIR
    }

    /// The folder holding `path`.
    package static func parent(of path: String) -> String {
        guard let slash = path.utf8.lastIndex(of: UInt8(ascii: "/")) else { return "." }
        if slash == path.utf8.startIndex { return "/" }
        return String(path[..<slash])
    }
}
