import Foundation
import Registry

/// A repository Slipway watches (registry table `repositories`).
package struct WatchedRepository: Sendable, Equatable {
    package static let table = "repositories"

    /// Its registered name.
    package var name: String
    /// Its absolute path (bare or not).
    package var path: String
    /// For mirrors: the remote URL the watcher fetches from.
    package var mirrorURL: String?
    /// For mirrors: seconds between fetches.
    package var fetchInterval: Double?
    /// The model its `slipway.yaml` declared at the last build.
    package var model: String?

    package init(name: String, path: String, mirrorURL: String? = nil, fetchInterval: Double? = nil, model: String? = nil) {
        self.name = name
        self.path = path
        self.mirrorURL = mirrorURL
        self.fetchInterval = fetchInterval
        self.model = model
    }

    init?(_ item: Item) {
        guard let path = item.attributes["path"]?.stringValue else { return nil }
        self.init(name: item.key.partition, path: path, mirrorURL: item.attributes["mirror"]?.stringValue,
                  fetchInterval: item.attributes["interval"]?.doubleValue, model: item.attributes["model"]?.stringValue)
    }

    /// Every registered repository, by name.
    package static func all(in registry: Registry) throws -> [WatchedRepository] {
        try registry.scan(table).items.compactMap(WatchedRepository.init)
    }

    /// The repository registered under `name`.
    package static func named(_ name: String, in registry: Registry) throws -> WatchedRepository? {
        try registry.get(table, ItemKey(name)).flatMap(WatchedRepository.init)
    }

    /// The repository registered at `path`, if any (compared after resolving symbolic links too).
    package static func at(path: String, in registry: Registry) throws -> WatchedRepository? {
        let forms = Set([(path as NSString).standardizingPath, (path as NSString).resolvingSymlinksInPath])
        return try all(in: registry).first { candidate in
            let registered = [(candidate.path as NSString).standardizingPath, (candidate.path as NSString).resolvingSymlinksInPath]
            // Hooks run in the .git of a working tree.
            return registered.contains { forms.contains($0) || forms.contains($0 + "/.git") }
        }
    }

    /// The repository of `model` (the model it builds, else the name it is registered
    /// under), or nil with every known model or name, for the message.
    package static func forModel(_ model: String, in registry: Registry) throws -> (found: WatchedRepository?, known: [String]) {
        let repositories = try all(in: registry)
        let found = repositories.first { $0.model == model } ?? repositories.first { $0.name == model }
        return (found, repositories.map { $0.model ?? $0.name })
    }

    /// Registers (or re-registers) a repository after checking that libgit2 opens it.
    @discardableResult
    package static func register(name: String, path: String, mirrorURL: String? = nil, fetchInterval: Double? = nil,
                                 in registry: Registry) throws -> WatchedRepository {
        let absolute = path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
        let standardized = (absolute as NSString).standardizingPath
        _ = try GitRepository(path: standardized)
        var attributes: [String: JSONValue] = ["path": .string(standardized)]
        if let mirrorURL { attributes["mirror"] = .string(mirrorURL) }
        if let fetchInterval { attributes["interval"] = .double(fetchInterval) }
        try registry.update(table, ItemKey(name), attributes.map { .set($0.key, $0.value) })
        return WatchedRepository(name: name, path: standardized, mirrorURL: mirrorURL, fetchInterval: fetchInterval)
    }

    /// A default name for a repository at `path`: its folder name without `.git`.
    package static func defaultName(for path: String) -> String {
        var base = ((path as NSString).standardizingPath as NSString).lastPathComponent
        if base.hasSuffix(".git") { base = String(base.dropLast(4)) }
        return base.isEmpty ? "repository" : base
    }
}
