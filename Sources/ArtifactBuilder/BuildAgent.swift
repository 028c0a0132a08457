import Foundation
import GitWatcher
import Home
import Logging
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
            let config = (try? ModelConfig.at(id, in: repository)) ?? nil,
            !config.branches.isEmpty
        else { return branch == (defaultBranch ?? "main") }
        return config.branches.contains(branch)
    }
}

/// The build side of the agent: finishes what a previous agent left, collects the pushes
/// the hook spooled and the watcher finds, and hands out the queue's requests one at a
/// time. Of several queued commits of one branch it builds the newest and records the
/// others as superseded, like CodePipeline. One agent runs per home (an exclusive lock on
/// `agent.lock`). The agent's build service drives it; `runOnce` is one pass, for
/// `slipway agent --once` and tests.
package final class BuildAgent: Sendable {
    package let home: String
    package let registry: Registry
    package let builder: Builder
    package let queue: BuildQueue
    package let watcher: RefWatcher
    private let lock: FileLock
    private let logger: Logger

    /// Takes the home's agent lock, waiting when `wait` (else failing with the holder's pid).
    package init(home: String, registry: Registry, builder: Builder, wait: Bool = false, logger: Logger) throws {
        self.home = home
        self.registry = registry
        self.builder = builder
        self.queue = BuildQueue(registry: registry)
        self.watcher = RefWatcher(registry: registry)
        self.logger = logger
        let path = home + "/agent.lock"
        try FileManager.default.createDirectory(atPath: home, withIntermediateDirectories: true)
        guard let lock = try wait ? FileLock(path: path, timeout: .infinity) : FileLock.attempt(path: path, creating: true) else {
            let holder = FileLock.holder(of: path).map { "pid \($0)" } ?? "another process"
            throw BuildFailure("another slipway agent (\(holder)) is running for \(home)",
                               hint: "stop it first, or let it do the work (it builds queued requests)")
        }
        self.lock = lock
        lock.record(pid: getpid())
    }

    /// One pass: interrupted builds, missed pushes, then the queue. Returns the outcomes
    /// of the requests built.
    @discardableResult
    package func runOnce() async throws -> [BuildOutcome] {
        try markInterruptedBuilds()
        for problem in collect() { logger.warning("\(problem)") }
        return try await drain()
    }

    /// Queues the pushes the hook spooled, then what the watcher finds moved. Returns the
    /// problems met (a spooled push refused or unreadable, a repository that cannot be
    /// scanned, a failing disk) for the caller to log: the agent's build service logs
    /// each once and backs off while they last. They never keep the queue from draining.
    @discardableResult
    package func collect() -> [String] {
        var problems: [String] = []
        do {
            let spooled = try Spool(home: home).drain(registry: registry, shouldBuild: BranchPolicy.shouldBuild) { problems.append($0) }
            for request in spooled { logger.info("hook: pushed", metadata: Self.metadata(request)) }
            let missed = try watcher.scan(shouldBuild: { repository, branch, commit in
                BranchPolicy.shouldBuild(repositoryPath: repository.path, branch: branch, commit: commit)
            }, problem: { problems.append($0) })
            for request in missed { logger.info("watcher: branch moved", metadata: Self.metadata(request)) }
        } catch {
            problems.append("collecting pushes failed: \(error)")
        }
        return problems
    }

    /// The folders whose changes mean there may be something to build: the spool, the
    /// queue's table, and each registered repository's refs.
    package func watchedFolders() -> [String] {
        var folders = [Spool(home: home).folder, registry.root + "/tables/" + BuildQueue.table]
        for repository in (try? WatchedRepository.all(in: registry)) ?? [] {
            let gitDirectory = FileManager.default.fileExists(atPath: repository.path + "/.git") ? repository.path + "/.git" : repository.path
            folders += [gitDirectory, gitDirectory + "/refs/heads"]
        }
        return folders
    }

    /// The next request to build, or nil when the queue is empty. Requests that a newer
    /// commit of their branch superseded are recorded as such on the way.
    package func next() throws -> (request: BuildRequest, id: String)? {
        while true {
            let pending = try queue.pending()
            guard let first = pending.first else { return nil }
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
            return (newest.request, newest.id)
        }
    }

    /// Builds what is queued; returns the outcomes.
    @discardableResult
    package func drain() async throws -> [BuildOutcome] {
        var built: [BuildOutcome] = []
        while let (request, id) = try next() { built.append(try await builder.build(request, requestID: id)) }
        return built
    }

    /// A request's log metadata.
    package static func metadata(_ request: BuildRequest) -> Logger.Metadata {
        ["repository": "\(request.repositoryName)", "branch": "\(request.branch ?? "")", "commit.sha": "\(request.commit.prefix(12))"]
    }

    /// Marks builds left `running` by a dead process as `interrupted`. Their requests stay
    /// queued and run once more; a request interrupted a second time is recorded as failed
    /// and dropped, so a commit that kills the agent cannot block the queue forever.
    @discardableResult
    package func markInterruptedBuilds() throws -> Int {
        var count = 0
        for item in try registry.scan(BuildTables.builds).items where item.buildStatus == .running {
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
                attributes["status"] = .string(BuildStatus.failed.rawValue)
                attributes["error"] = "interrupted twice: the process building this commit died both times; it is not retried again. Run `slipway build` to try once more"
                writes.append(.delete(table: BuildQueue.table, key: ItemKey(requestID), condition: .version(request.version)))
            } else {
                attributes["status"] = .string(BuildStatus.interrupted.rawValue)
                attributes["error"] = "the process building it stopped before it finished; the build is retried"
                if let request, let requestID {
                    writes.append(.update(table: BuildQueue.table, key: ItemKey(requestID), changes: [.add("attempts", 1)],
                                          condition: .version(request.version)))
                }
            }
            writes.append(.put(table: BuildTables.builds, key: item.key, attributes: attributes, condition: .version(item.version)))
            try registry.transact(writes)
            logger.warning("build was interrupted; \(attributes["status"] == .string(BuildStatus.failed.rawValue) ? "it failed twice and is dropped" : "it will run again")",
                           metadata: ["build.id": "\(attributes["id"]?.stringValue ?? "?")"])
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
        record["status"] = .string(BuildStatus.superseded.rawValue)
        record["supersededBy"] = .string(newer)
        record["finishedAt"] = .double(Date().timeIntervalSince1970)
        try registry.transact([
            .put(table: BuildTables.builds, key: ItemKey(model, BuildTables.sortKey(number)), attributes: record, condition: .absent),
            .delete(table: BuildQueue.table, key: ItemKey(id), condition: .exists),
        ])
        logger.info("build superseded by \(newer.prefix(12))", metadata: Self.metadata(request))
    }
}
