import Foundation
import GitWatcher
import Registry

/// Whether a push builds: a branch builds when the `slipway.yaml` at the pushed commit
/// lists it under `branches`, or, when it lists none, when it is the repository's default
/// branch. A commit whose config cannot be read builds on the default branch, so that its
/// error is recorded where the user looks.
package enum BranchPolicy {
    @Sendable package static func shouldBuild(repositoryPath: String, branch: String, commit: String) -> Bool {
        guard let repository = try? GitRepository(path: repositoryPath) else { return true }  // the build records why
        let defaultBranch = (try? repository.effectiveDefaultBranch()) ?? nil
        guard let id = try? repository.resolveCommit(commit),
            let bytes = try? repository.contents(of: ModelConfig.fileName, at: id),
            let config = try? ModelConfig.parse(String(decoding: bytes, as: UTF8.self)),
            !config.branches.isEmpty
        else { return branch == (defaultBranch ?? "main") }
        return config.branches.contains(branch)
    }
}

/// The build side of `slipway agent`: finishes what a previous agent left, asks the
/// watcher for missed pushes, and drains the queue. Of several queued commits of one
/// branch it builds the newest and records the others as superseded, like CodePipeline.
/// One agent runs per home (an exclusive lock on `agent.lock`).
package final class BuildAgent {
    package let home: String
    package let registry: Registry
    package let builder: Builder
    package let queue: BuildQueue
    package let watcher: RefWatcher
    private let lock: FolderLock
    private let say: (String) -> Void

    /// Takes the home's agent lock, waiting when `wait` (else failing with the holder's pid).
    package init(home: String, registry: Registry, builder: Builder, wait: Bool = false, log: @escaping (String) -> Void) throws {
        self.home = home
        self.registry = registry
        self.builder = builder
        self.queue = BuildQueue(registry: registry)
        self.watcher = RefWatcher(registry: registry)
        self.say = log
        let path = home + "/agent.lock"
        try FileManager.default.createDirectory(atPath: home, withIntermediateDirectories: true)
        guard let lock = try FolderLock(path: path, wait: wait) else {
            let holder = FolderLock.holder(of: path).map { "pid \($0)" } ?? "another process"
            throw BuildFailure("another slipway agent (\(holder)) is running for \(home)",
                               hint: "stop it first, or let it do the work (it builds queued requests)")
        }
        self.lock = lock
        lock.record(pid: getpid())
    }

    /// One pass: interrupted builds, missed pushes, then the queue. Returns the final
    /// build records of the builds run.
    @discardableResult
    package func runOnce() async throws -> [Item] {
        try markInterruptedBuilds()
        collect()
        return try await drain()
    }

    /// Queues the pushes the hook spooled, then what the watcher finds moved. A failure
    /// here is reported and never keeps the queue from draining.
    private func collect() {
        do {
            try collectOrThrow()
        } catch {
            say("error while collecting pushes: \(error)")
        }
    }

    private func collectOrThrow() throws {
        let spooled = try Spool(home: home).drain(registry: registry, shouldBuild: BranchPolicy.shouldBuild, problem: say)
        for request in spooled { say("hook: \(request.repositoryName) \(request.branch ?? "") pushed \(request.commit.prefix(7))") }
        let missed = try watcher.scan(shouldBuild: { repository, branch, commit in
            BranchPolicy.shouldBuild(repositoryPath: repository.path, branch: branch, commit: commit)
        }, problem: say)
        for request in missed { say("watcher: \(request.repositoryName) \(request.branch ?? "") moved to \(request.commit.prefix(7))") }
    }

    /// Runs until `shouldStop` says so (or the task is cancelled): a pass whenever the
    /// queue or a watched repository changes, and at least every `interval` seconds.
    package func run(interval: Double = 2, shouldStop: () -> Bool) async throws {
        let monitor = try ChangeMonitor()
        try FileManager.default.createDirectory(atPath: Spool(home: home).folder, withIntermediateDirectories: true)
        try markInterruptedBuilds()
        while !shouldStop() {
            monitor.watch(Spool(home: home).folder)
            monitor.watch(registry.root + "/tables/" + BuildQueue.table)
            for repository in (try? WatchedRepository.all(in: registry)) ?? [] {
                let gitDirectory = FileManager.default.fileExists(atPath: repository.path + "/.git") ? repository.path + "/.git" : repository.path
                monitor.watch(gitDirectory)
                monitor.watch(gitDirectory + "/refs/heads")
            }
            collect()
            do {
                try await drain(shouldStop: shouldStop)
            } catch {
                say("error: \(error); retrying in \(Int(interval)) s")
            }
            if shouldStop() || Task.isCancelled { break }
            await monitor.change(within: interval)
        }
    }

    /// Builds what is queued; returns the final build records.
    @discardableResult
    package func drain(shouldStop: () -> Bool = { false }) async throws -> [Item] {
        var built: [Item] = []
        while !shouldStop() {
            let pending = try queue.pending()
            guard let first = pending.first else { break }
            if let newer = first.request.supersededBy {
                try recordSuperseded(first.request, id: first.id, by: newer)
                continue
            }
            // The newest request of the first request's branch wins; older ones are superseded.
            let group = pending.filter {
                $0.request.supersededBy == nil && $0.request.repositoryName == first.request.repositoryName
                    && $0.request.branch != nil && $0.request.branch == first.request.branch
            }
            let newest = group.last ?? first
            for older in group.dropLast() {
                try recordSuperseded(older.request, id: older.id, by: newest.request.commit)
            }
            built.append(try await builder.build(newest.request, requestID: newest.id))
        }
        return built
    }

    /// Marks builds left `running` by a dead process as `interrupted`. Their requests stay
    /// queued and run once more; a request interrupted a second time is recorded as failed
    /// and dropped, so a commit that kills the agent cannot block the queue forever.
    @discardableResult
    package func markInterruptedBuilds() throws -> Int {
        var count = 0
        for item in try registry.scan(BuildTables.builds).items where item.attributes["status"] == "running" {
            if let pid = item.attributes["pid"]?.intValue, pid != Int64(getpid()), kill(pid_t(pid), 0) == 0 || errno == EPERM {
                continue  // still running elsewhere (a `slipway build` by hand)
            }
            var attributes = item.attributes
            attributes["pid"] = nil
            attributes["finishedAt"] = .double(Date().timeIntervalSince1970)
            var writes: [TransactionWrite] = []
            let requestID = attributes["requestID"]?.stringValue
            let request = try requestID.flatMap { try registry.get(BuildQueue.table, ItemKey($0)) }
            if let request, let requestID, (request.attributes["attempts"]?.intValue ?? 0) >= 1 {
                attributes["status"] = "failed"
                attributes["error"] = "interrupted twice: the process building this commit died both times; it is not retried again. Run `slipway build` to try once more"
                writes.append(.delete(table: BuildQueue.table, key: ItemKey(requestID), condition: .version(request.version)))
            } else {
                attributes["status"] = "interrupted"
                attributes["error"] = "the process building it stopped before it finished; the build is retried"
                if let request, let requestID {
                    writes.append(.update(table: BuildQueue.table, key: ItemKey(requestID), changes: [.add("attempts", 1)],
                                          condition: .version(request.version)))
                }
            }
            writes.append(.put(table: BuildTables.builds, key: item.key, attributes: attributes, condition: .version(item.version)))
            try registry.transact(writes)
            say("\(attributes["id"]?.stringValue ?? "a build") was interrupted; \(attributes["status"] == "failed" ? "it failed twice and is dropped" : "it will run again")")
            count += 1
        }
        return count
    }

    /// Records a request that a newer commit of its branch superseded, and removes it from
    /// the queue, in one transaction.
    private func recordSuperseded(_ request: BuildRequest, id: String, by newer: String) throws {
        let model = try WatchedRepository.named(request.repositoryName, in: registry)?.model ?? request.repositoryName
        let number = Int(try registry.update(BuildTables.models, ItemKey(model), [.add("builds", 1)]).attributes["builds"]?.intValue ?? 1)
        var record = request.json
        record["id"] = .string(BuildTables.buildID(model: model, number: number))
        record["model"] = .string(model)
        record["number"] = .int(Int64(number))
        record["status"] = "superseded"
        record["supersededBy"] = .string(newer)
        record["finishedAt"] = .double(Date().timeIntervalSince1970)
        try registry.transact([
            .put(table: BuildTables.builds, key: ItemKey(model, BuildTables.sortKey(number)), attributes: record, condition: .absent),
            .delete(table: BuildQueue.table, key: ItemKey(id), condition: .exists),
        ])
        say("\(request.commit.prefix(7)) on \(request.branch ?? "?") superseded by \(newer.prefix(7))")
    }
}

extension FolderLock {
    /// The pid written in a held lock file, or nil when nobody holds it.
    static func holder(of path: String) -> Int32? {
        let fd = open(path, O_RDWR | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        if flock(fd, LOCK_EX | LOCK_NB) == 0 {
            flock(fd, LOCK_UN)
            return nil
        }
        var buffer = [UInt8](repeating: 0, count: 32)
        let n = pread(fd, &buffer, buffer.count, 0)
        return Int32(String(decoding: buffer.prefix(max(0, n)), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)) ?? -1
    }
}
