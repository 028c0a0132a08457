import Foundation
import Registry

/// Notices branch tips that moved in registered repositories without the hook: compares
/// each branch with its cursor in the registry and queues what is new, exactly once (the
/// hook and the watcher share the cursors). Run `scan()` on a timer and whenever
/// `RefChangeMonitor` reports a change.
package struct RefWatcher: Sendable {
    package let registry: Registry
    package let queue: BuildQueue

    package init(registry: Registry) {
        self.registry = registry
        self.queue = BuildQueue(registry: registry)
    }

    /// Queues builds for every branch tip that moved since its cursor; returns them.
    /// `shouldBuild` decides per branch (the model's `branches`); others only move their
    /// cursor. A repository that cannot be opened is reported through `problem`.
    package func scan(
        shouldBuild: (_ repository: WatchedRepository, _ branch: String, _ commit: String) -> Bool,
        problem: (String) -> Void = { _ in }
    ) throws -> [BuildRequest] {
        var queued: [BuildRequest] = []
        for repository in try WatchedRepository.all(in: registry) {
            let tips: [String: ObjectID]
            do {
                let git = try GitRepository(path: repository.path)
                if try isFetchDue(repository) {
                    try git.fetchMirror()
                    try registry.update(WatchedRepository.table, ItemKey(repository.name), [.set("lastFetch", .double(Date().timeIntervalSince1970))])
                }
                tips = try git.branches()
            } catch {
                problem("repository '\(repository.name)': \(error)")
                continue
            }
            for (branch, tip) in tips.sorted(by: { $0.key < $1.key }) {
                guard try queue.cursor(repository: repository.name, branch: branch) != tip.hex else { continue }
                let request = BuildRequest(repositoryName: repository.name, repositoryPath: repository.path, branch: branch,
                                           commit: tip.hex, requestedBy: "watcher", requestedAt: Date().timeIntervalSince1970)
                if try queue.observe(request, builds: shouldBuild(repository, branch, tip.hex)) == .queued { queued.append(request) }
            }
        }
        return queued
    }

    /// Whether a mirror's interval has passed since its last fetch.
    private func isFetchDue(_ repository: WatchedRepository) throws -> Bool {
        guard repository.mirrorURL != nil else { return false }
        let last = try registry.get(WatchedRepository.table, ItemKey(repository.name))?.attributes["lastFetch"]?.doubleValue ?? 0
        return Date().timeIntervalSince1970 - last >= (repository.fetchInterval ?? 60)
    }
}
