import CGit2

/// `git_libgit2_init()`, run once (a global `let` is initialised exactly once).
let libgit2Ready: Int32 = git_libgit2_init()

/// A failed libgit2 call: the operation, the repository and libgit2's own message.
package struct GitError: Error, Sendable, CustomStringConvertible {
    /// What Slipway was doing ("resolve 'main'").
    package var operation: String
    /// The repository's path.
    package var repository: String
    /// libgit2's message (from `git_error_last()` right after the call).
    package var message: String
    /// libgit2's error code (`GIT_ENOTFOUND` is -3).
    package var code: Int32

    package var isNotFound: Bool { code == GIT_ENOTFOUND.rawValue }

    package var description: String { "git: \(operation) in '\(repository)' failed: \(message)" }
}

/// A commit, an object id in hex (40 characters for SHA-1).
package struct ObjectID: Hashable, Sendable, Comparable, CustomStringConvertible {
    /// The hex form.
    package var hex: String

    package init(hex: String) { self.hex = hex }

    init(_ oid: UnsafePointer<git_oid>) {
        hex = String(cString: git_oid_tostr_s(oid))
    }

    /// The all-zero id git uses for "no commit" (a created or deleted ref).
    package var isZero: Bool { hex.allSatisfy { $0 == "0" } }

    package var description: String { hex }
    package static func < (a: ObjectID, b: ObjectID) -> Bool { a.hex < b.hex }
}

/// What a build records of a commit.
package struct CommitInfo: Sendable, Equatable {
    package var id: ObjectID
    package var authorName: String
    package var authorEmail: String
    /// Seconds since 1970 of the author date.
    package var time: Int64
    /// The first line of the message.
    package var summary: String
    package var message: String
}

/// A file of a commit's tree.
package struct TreeFile: Sendable, Equatable {
    /// The path inside the repository, `/`-separated.
    package var path: String
    /// Git's file mode: 0o100644, 0o100755 or 0o120000 (symlink).
    package var mode: UInt32
    /// The blob's id.
    package var blob: ObjectID

    package var isSymlink: Bool { mode == 0o120000 }
    package var isExecutable: Bool { mode == 0o100755 }
}

/// A repository opened with libgit2. Not thread-safe (libgit2 objects must not be shared
/// between threads): open one per task; opening is cheap.
package final class GitRepository {
    /// The path it was opened with.
    package let path: String
    let handle: OpaquePointer

    /// Opens the repository at `path` (bare or not; not searching parents).
    package init(path: String) throws(GitError) {
        _ = libgit2Ready
        self.path = path
        var handle: OpaquePointer?
        let code = git_repository_open_ext(&handle, path, GIT_REPOSITORY_OPEN_NO_SEARCH.rawValue, nil)
        guard code == 0, let handle else { throw Self.error(code, "open repository", path) }
        self.handle = handle
    }

    deinit { git_repository_free(handle) }

    /// Whether the repository has no working tree.
    package var isBare: Bool { git_repository_is_bare(handle) == 1 }

    static func error(_ code: Int32, _ operation: String, _ path: String) -> GitError {
        let message = git_error_last().flatMap { $0.pointee.message.map { String(cString: $0) } } ?? "error \(code)"
        return GitError(operation: operation, repository: path, message: message, code: code)
    }

    private func check(_ code: Int32, _ operation: @autoclosure () -> String) throws(GitError) {
        if code < 0 { throw Self.error(code, operation(), path) }
    }

    /// The commit a revision (`main`, `HEAD~1`, a sha or a prefix of one) names.
    package func resolveCommit(_ revision: String) throws(GitError) -> ObjectID {
        var object: OpaquePointer?
        try check(git_revparse_single(&object, handle, revision), "resolve '\(revision)'")
        defer { git_object_free(object) }
        var commit: OpaquePointer?
        try check(git_object_peel(&commit, object, GIT_OBJECT_COMMIT), "find the commit of '\(revision)'")
        defer { git_object_free(commit) }
        return ObjectID(git_object_id(commit))
    }

    /// The branch HEAD points at (`main`), when HEAD is a branch.
    package func defaultBranch() throws(GitError) -> String? {
        var head: OpaquePointer?
        let code = git_reference_lookup(&head, handle, "HEAD")
        if code == GIT_ENOTFOUND.rawValue { return nil }
        try check(code, "read HEAD")
        defer { git_reference_free(head) }
        guard git_reference_type(head) == GIT_REFERENCE_SYMBOLIC, let target = git_reference_symbolic_target(head) else { return nil }
        let name = String(cString: target)
        return name.hasPrefix("refs/heads/") ? String(name.dropFirst("refs/heads/".count)) : nil
    }

    /// The branch pushes build by default: HEAD's branch when it exists, else `main`, else
    /// `master`, else the only branch. (`git init --bare` points HEAD at `master` even when
    /// only `main` is ever pushed.)
    package func effectiveDefaultBranch() throws(GitError) -> String? {
        let branches = try branches()
        if let head = try defaultBranch(), branches[head] != nil { return head }
        for name in ["main", "master"] where branches[name] != nil { return name }
        return branches.count == 1 ? branches.keys.first : nil
    }

    /// Every branch and the commit it points at.
    package func branches() throws(GitError) -> [String: ObjectID] {
        var iterator: OpaquePointer?
        try check(git_reference_iterator_glob_new(&iterator, handle, "refs/heads/*"), "list branches")
        defer { git_reference_iterator_free(iterator) }
        var result: [String: ObjectID] = [:]
        var reference: OpaquePointer?
        while git_reference_next(&reference, iterator) == 0 {
            defer { git_reference_free(reference) }
            var resolved: OpaquePointer?
            guard git_reference_resolve(&resolved, reference) == 0 else { continue }
            defer { git_reference_free(resolved) }
            guard let oid = git_reference_target(resolved) else { continue }
            let name = String(cString: git_reference_name(reference))
            result[String(name.dropFirst("refs/heads/".count))] = ObjectID(oid)
        }
        return result
    }

    /// The author, date and message of a commit.
    package func commitInfo(_ id: ObjectID) throws(GitError) -> CommitInfo {
        let commit = try lookupCommit(id)
        defer { git_commit_free(commit) }
        let author = git_commit_author(commit)!.pointee
        let message = git_commit_message(commit).map { String(cString: $0) } ?? ""
        return CommitInfo(
            id: id,
            authorName: String(cString: author.name), authorEmail: String(cString: author.email),
            time: Int64(author.when.time),
            summary: git_commit_summary(commit).map { String(cString: $0) } ?? "",
            message: message)
    }

    /// The bytes of the file at `path` in the commit, or nil when there is no such file.
    package func contents(of path: String, at id: ObjectID) throws(GitError) -> [UInt8]? {
        guard let file = try file(at: path, in: id) else { return nil }
        return try blob(file.blob)
    }

    /// The entry at `path` in the commit's tree; nil when absent or a folder.
    package func file(at path: String, in id: ObjectID) throws(GitError) -> TreeFile? {
        let tree = try treeOf(id)
        defer { git_tree_free(tree) }
        var entry: OpaquePointer?
        let code = git_tree_entry_bypath(&entry, tree, path)
        if code == GIT_ENOTFOUND.rawValue { return nil }
        try check(code, "find '\(path)' at \(id)")
        defer { git_tree_entry_free(entry) }
        guard git_tree_entry_type(entry) == GIT_OBJECT_BLOB else { return nil }
        return TreeFile(path: path, mode: git_tree_entry_filemode(entry).rawValue, blob: ObjectID(git_tree_entry_id(entry)))
    }

    /// Every file of the commit's tree (blobs and symlinks; submodules are skipped).
    package func files(at id: ObjectID) throws(GitError) -> [TreeFile] {
        let tree = try treeOf(id)
        defer { git_tree_free(tree) }
        final class Collector { var files: [TreeFile] = [] }
        let collector = Collector()
        let code = withExtendedLifetime(collector) {
            git_tree_walk(tree, GIT_TREEWALK_PRE, { root, entry, payload in
                guard git_tree_entry_type(entry) == GIT_OBJECT_BLOB else { return 0 }
                let collector = Unmanaged<Collector>.fromOpaque(payload!).takeUnretainedValue()
                let path = String(cString: root!) + String(cString: git_tree_entry_name(entry))
                collector.files.append(TreeFile(
                    path: path, mode: git_tree_entry_filemode(entry).rawValue, blob: ObjectID(git_tree_entry_id(entry))))
                return 0
            }, Unmanaged.passUnretained(collector).toOpaque())
        }
        try check(code, "walk the tree of \(id)")
        return collector.files
    }

    /// The bytes of a blob.
    package func blob(_ id: ObjectID) throws(GitError) -> [UInt8] {
        var oid = git_oid()
        try check(git_oid_fromstr(&oid, id.hex), "parse object id '\(id)'")
        var blob: OpaquePointer?
        try check(git_blob_lookup(&blob, handle, &oid), "read blob \(id)")
        defer { git_blob_free(blob) }
        let size = Int(git_blob_rawsize(blob))
        guard size > 0, let raw = git_blob_rawcontent(blob) else { return [] }
        return Array(UnsafeRawBufferPointer(start: raw, count: size))
    }

    private func lookupCommit(_ id: ObjectID) throws(GitError) -> OpaquePointer {
        var oid = git_oid()
        try check(git_oid_fromstr(&oid, id.hex), "parse commit id '\(id)'")
        var commit: OpaquePointer?
        try check(git_commit_lookup(&commit, handle, &oid), "read commit \(id)")
        return commit!
    }

    private func treeOf(_ id: ObjectID) throws(GitError) -> OpaquePointer {
        let commit = try lookupCommit(id)
        defer { git_commit_free(commit) }
        var tree: OpaquePointer?
        try check(git_commit_tree(&tree, commit), "read the tree of \(id)")
        return tree!
    }
}
