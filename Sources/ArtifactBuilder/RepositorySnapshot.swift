import Foundation
import GitWatcher

/// A file of a model repository as a build sees it.
package struct SnapshotFile: Sendable, Equatable {
    /// The path inside the repository, `/`-separated.
    package var path: String
    /// Git's mode: 0o100644, 0o100755 or 0o120000 (symlink).
    package var mode: UInt32
    /// A content id: the git blob id, or the SHA-256 of a working-tree file.
    package var contentID: String

    package var isSymlink: Bool { mode == 0o120000 }
}

/// The files of a model repository at one point: a commit (read with libgit2, no
/// checkout) or a folder (for `slipway model validate DIR` before committing).
package protocol RepositorySnapshot {
    /// Every file, by path.
    var files: [String: SnapshotFile] { get }
    /// The bytes of a file.
    func contents(of path: String) throws -> [UInt8]
    /// "commit 3f2a1b9 of /srv/git/demand.git" or a folder path, for messages.
    var label: String { get }
}

extension RepositorySnapshot {
    /// The files at `path`: the file itself, or every file under the folder.
    package func files(under path: String) -> [SnapshotFile] {
        if let file = files[path] { return [file] }
        let prefix = path + "/"
        return files.values.filter { $0.path.hasPrefix(prefix) }.sorted { $0.path < $1.path }
    }

    /// Writes every file into `folder` (a scratch copy of the commit).
    package func extract(to folder: String) throws {
        try write(Array(files.values), to: folder, readOnly: false)
    }

    /// Writes `files` under `folder` with their modes (read-only when asked) and symlinks.
    package func write(_ files: [SnapshotFile], to folder: String, readOnly: Bool) throws {
        let manager = FileManager.default
        for file in files {
            let target = folder + "/" + file.path
            try manager.createDirectory(atPath: (target as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            let bytes = try contents(of: file.path)
            if file.isSymlink {
                try manager.createSymbolicLink(atPath: target, withDestinationPath: String(decoding: bytes, as: UTF8.self))
            } else {
                try Data(bytes).write(to: URL(fileURLWithPath: target))
                let executable = file.mode == 0o100755
                let mode = readOnly ? (executable ? 0o555 : 0o444) : (executable ? 0o755 : 0o644)
                try manager.setAttributes([.posixPermissions: mode], ofItemAtPath: target)
            }
        }
    }

    /// The repository path that `path` leads to once every symlink on the way is followed
    /// (component by component, as the kernel would); nil when a symlink leads out of the
    /// repository or the chain is longer than 40 links.
    package func resolve(_ path: String) throws -> String? {
        var remaining = path.split(separator: "/").map(String.init)
        var resolved: [String] = []
        var hops = 0
        while !remaining.isEmpty {
            let part = remaining.removeFirst()
            if part == "." || part.isEmpty { continue }
            if part == ".." {
                guard !resolved.isEmpty else { return nil }
                resolved.removeLast()
                continue
            }
            let candidate = (resolved + [part]).joined(separator: "/")
            if let file = files[candidate], file.isSymlink {
                hops += 1
                let target = String(decoding: try contents(of: candidate), as: UTF8.self)
                guard hops <= 40, !target.hasPrefix("/") else { return nil }
                remaining = target.split(separator: "/").map(String.init) + remaining
                continue
            }
            resolved.append(part)
        }
        return resolved.joined(separator: "/")
    }
}

/// A commit of a git repository, read through libgit2.
package struct GitSnapshot: RepositorySnapshot {
    package let repository: GitRepository
    package let commit: ObjectID
    package let files: [String: SnapshotFile]

    package init(repository: GitRepository, commit: ObjectID) throws {
        self.repository = repository
        self.commit = commit
        var files: [String: SnapshotFile] = [:]
        for file in try repository.files(at: commit) {
            files[file.path] = SnapshotFile(path: file.path, mode: file.mode, contentID: file.blob.hex)
        }
        self.files = files
    }

    package func contents(of path: String) throws -> [UInt8] {
        guard let file = files[path] else { throw CocoaError(.fileNoSuchFile, userInfo: [NSFilePathErrorKey: path]) }
        return try repository.blob(ObjectID(hex: file.contentID))
    }

    package var label: String { "commit \(commit.hex.prefix(7)) of \(repository.path)" }
}

/// A folder on disk (a working tree), without its `.git`.
package struct FolderSnapshot: RepositorySnapshot {
    package let root: String
    package let files: [String: SnapshotFile]

    package init(root: String) throws {
        self.root = root
        var files: [String: SnapshotFile] = [:]
        let manager = FileManager.default
        guard let enumerator = manager.enumerator(atPath: root) else {
            throw CocoaError(.fileReadNoSuchFile, userInfo: [NSFilePathErrorKey: root])
        }
        while let relative = enumerator.nextObject() as? String {
            if relative == ".git" || relative.hasPrefix(".git/") { enumerator.skipDescendants(); continue }
            let full = root + "/" + relative
            let attributes = try manager.attributesOfItem(atPath: full)
            let type = attributes[.type] as? FileAttributeType
            if type == .typeSymbolicLink {
                let target = try manager.destinationOfSymbolicLink(atPath: full)
                files[relative] = SnapshotFile(path: relative, mode: 0o120000, contentID: Digest.sha256(Array(target.utf8)))
            } else if type == .typeRegular {
                let permissions = (attributes[.posixPermissions] as? Int) ?? 0o644
                let data = try Data(contentsOf: URL(fileURLWithPath: full))
                files[relative] = SnapshotFile(path: relative, mode: permissions & 0o111 != 0 ? 0o100755 : 0o100644, contentID: Digest.sha256(Array(data)))
            }
        }
        self.files = files
    }

    package func contents(of path: String) throws -> [UInt8] {
        guard let file = files[path] else { throw CocoaError(.fileNoSuchFile, userInfo: [NSFilePathErrorKey: path]) }
        if file.isSymlink { return Array(try FileManager.default.destinationOfSymbolicLink(atPath: root + "/" + path).utf8) }
        return Array(try Data(contentsOf: URL(fileURLWithPath: root + "/" + path)))
    }

    package var label: String { root }
}
