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

    /// What a branch update does to the queue.
    package enum Observation: Equatable {
        /// The commit was queued to build, and the cursor moved to it.
        case queued
        /// The cursor already was at the commit: nothing to do.
        case alreadySeen
        /// The branch had moved on past this commit (the hook's `old` is not the cursor):
        /// it is queued to be recorded as superseded; the cursor stays.
        case superseded
        /// The branch does not build: only the cursor moved.
        case skipped
    }

    /// Records that `request.branch` moved from `old` (nil: unknown, as the watcher sees
    /// it) to `request.commit`, queuing the build and moving the branch's cursor in one
    /// transaction. A hook's update whose `old` is not where the cursor is arrived late
    /// (another push, seen first, moved the branch on), so the cursor never moves back.
    @discardableResult
    package func observe(_ request: BuildRequest, old: String? = nil, builds: Bool = true) throws -> Observation {
        guard let branch = request.branch else {
            try enqueue(request)
            return .queued
        }
        let cursorKey = ItemKey(request.repositoryName, branch)
        while true {
            let cursor = try registry.get(Self.cursors, cursorKey)
            let at = cursor?.attributes["commit"]?.stringValue
            if at == request.commit { return .alreadySeen }
            var writes: [TransactionWrite] = []
            let outcome: Observation
            if let at, let old, !ObjectID(hex: old).isZero, old != at {
                guard builds else { return .skipped }
                var stale = request
                stale.supersededBy = at
                writes.append(.put(table: Self.table, key: ItemKey(Self.newID()), attributes: stale.json, condition: .absent))
                outcome = .superseded
            } else {
                if builds {
                    writes.append(.put(table: Self.table, key: ItemKey(Self.newID()), attributes: request.json, condition: .absent))
                }
                writes.append(.put(table: Self.cursors, key: cursorKey, attributes: ["commit": .string(request.commit)],
                                   condition: cursor.map { .version($0.version) } ?? .absent))
                outcome = builds ? .queued : .skipped
            }
            let result = Result { () throws(RegistryError) in try registry.transact(writes) }
            switch result {
            case .success: return outcome
            case .failure(.conditionFailed(let table, _, _, _)) where table == Self.cursors:
                continue  // the hook and the watcher raced; re-read the cursor
            case .failure(let error): throw error
            }
        }
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
