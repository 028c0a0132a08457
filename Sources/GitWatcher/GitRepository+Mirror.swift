import CGit2

extension GitRepository {
    /// Creates a bare mirror of `url` at `path` (every branch as a local branch) and
    /// fetches it once.
    package static func createMirror(at path: String, of url: String) throws(GitError) -> GitRepository {
        _ = libgit2Ready
        var handle: OpaquePointer?
        let code = git_repository_init(&handle, path, 1)
        guard code == 0 else { throw error(code, "create mirror of '\(url)'", path) }
        var remote: OpaquePointer?
        let created = git_remote_create_with_fetchspec(&remote, handle, "origin", url, "+refs/heads/*:refs/heads/*")
        git_remote_free(remote)
        git_repository_free(handle)
        guard created == 0 else { throw error(created, "add remote '\(url)'", path) }
        let mirror = try GitRepository(path: path)
        try mirror.fetchMirror()
        return mirror
    }

    /// Fetches every branch of the mirror's `origin`, pruning branches deleted there.
    package func fetchMirror() throws(GitError) {
        var remote: OpaquePointer?
        let lookup = git_remote_lookup(&remote, handle, "origin")
        guard lookup == 0 else { throw Self.error(lookup, "find remote 'origin'", path) }
        defer { git_remote_free(remote) }
        var options = git_fetch_options()
        git_fetch_options_init(&options, UInt32(GIT_FETCH_OPTIONS_VERSION))
        options.prune = GIT_FETCH_PRUNE
        let code = git_remote_fetch(remote, nil, &options, "slipway mirror fetch")
        guard code == 0 else {
            let url = git_remote_url(remote).map { String(cString: $0) } ?? "?"
            throw Self.error(code, "fetch '\(url)'", path)
        }
    }
}
