import Foundation
import Registry

/// The durable queue of build requests (registry table `build-requests`) and the cursor
/// of each repository branch (table `cursors`: the last commit seen, so that each commit
/// is queued exactly once whether the hook or the watcher saw it first).
package struct BuildQueue: Sendable {
    package static let table = "build-requests"
    package static let cursors = "cursors"

    package let registry: Registry

    package init(registry: Registry) { self.registry = registry }

    /// A new request id: sortable by time of arrival.
    static func newID() -> String {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        let nanos = UInt64(now.tv_sec) * 1_000_000_000 + UInt64(now.tv_nsec)
        return String(format: "%020llu-%d-%08x", nanos, getpid(), UInt32.random(in: 0...UInt32.max))
    }

    /// Queues a build of a branch's new tip and moves the branch's cursor to it, in one
    /// transaction; does nothing (returns false) when the cursor already is at that commit.
    @discardableResult
    package func enqueue(branchTip request: BuildRequest) throws -> Bool {
        guard let branch = request.branch else { return try enqueue(request) != "" }
        let cursorKey = ItemKey(request.repositoryName, branch)
        while true {
            let cursor = try registry.get(Self.cursors, cursorKey)
            if cursor?.attributes["commit"]?.stringValue == request.commit { return false }
            let outcome = Result { () throws(RegistryError) in
                try registry.transact([
                    .put(table: Self.table, key: ItemKey(Self.newID()), attributes: request.json, condition: .absent),
                    .put(table: Self.cursors, key: cursorKey, attributes: ["commit": .string(request.commit)],
                         condition: cursor.map { .version($0.version) } ?? .absent),
                ])
            }
            switch outcome {
            case .success: return true
            case .failure(.conditionFailed(let table, _, _, _)) where table == Self.cursors:
                continue  // the hook and the watcher raced; re-read the cursor
            case .failure(let error): throw error
            }
        }
    }

    /// Moves a branch's cursor without queuing a build (a branch that does not build).
    package func advanceCursor(repository: String, branch: String, to commit: String) throws {
        try registry.put(Self.cursors, ItemKey(repository, branch), ["commit": .string(commit)])
    }

    /// The commit a branch's cursor is at.
    package func cursor(repository: String, branch: String) throws -> String? {
        try registry.get(Self.cursors, ItemKey(repository, branch))?.attributes["commit"]?.stringValue
    }

    /// Queues a request as it is (builds by hand); returns its id.
    @discardableResult
    package func enqueue(_ request: BuildRequest) throws -> String {
        let id = Self.newID()
        try registry.put(Self.table, ItemKey(id), request.json, condition: .absent)
        return id
    }

    /// The queued requests, oldest first.
    package func pending() throws -> [(id: String, request: BuildRequest)] {
        try registry.scan(Self.table).items.compactMap { item in
            BuildRequest(json: item.attributes).map { (item.key.partition, $0) }
        }
    }

    /// Removes a handled request.
    package func remove(_ id: String) throws {
        try registry.delete(Self.table, ItemKey(id))
    }
}
