import GitWatcher
import Synchronization

extension ModelConfig {
    /// Parsed configurations by commit. A commit's `slipway.yaml` never changes, so each
    /// is read and parsed once per process, however many times a push's build, training
    /// and deployment ask for it. Failures are not kept (their message names the file).
    private static let byCommit = Mutex<[String: ModelConfig]>([:])
    /// Past this many commits the cache starts again (a long-running agent's bound).
    static let cacheLimit = 1024

    /// The configuration at `commit` of `repository`, nil when the commit has no
    /// `slipway.yaml`. A file that does not parse throws its `ConfigError`, labelled with
    /// the short commit.
    package static func at(_ commit: ObjectID, in repository: GitRepository) throws -> ModelConfig? {
        if let cached = byCommit.withLock({ $0[commit.hex] }) { return cached }
        guard let bytes = try repository.contents(of: fileName, at: commit) else { return nil }
        let config = try parse(String(decoding: bytes, as: UTF8.self), file: "\(fileName) at \(commit.hex.prefix(7))")
        byCommit.withLock { cache in
            if cache.count >= cacheLimit { cache.removeAll() }
            cache[commit.hex] = config
        }
        return config
    }
}
