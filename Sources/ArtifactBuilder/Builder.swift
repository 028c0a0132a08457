import Foundation
import GitWatcher
import Home
import Logging
import Registry

/// Builds a commit of a model repository: reads `slipway.yaml` and the files at the commit
/// through libgit2 (no checkout), validates them, makes one content-addressed artifact per
/// stage (reusing unchanged ones), runs the declared build steps, and records the build.
/// Only a successful build moves the model's latest-artifact pointers, in the same
/// transaction that marks the build succeeded; a failed build records why and changes
/// nothing else.
///
/// Its commands (venv, pip, build steps) run through the process layer, awaited: no
/// thread waits on them. Progress goes to the injected `Logger`, one line per event with
/// `model.name` and `build.id` (and `build.step`, `stage.name` where they apply): the
/// events at `info` ("cache hit: train artifact 3f2a…"), what venv, pip and the build
/// steps printed at `debug`. Everything also goes to the build's log file.
package final class Builder: Sendable {
    package let home: String
    package let registry: Registry
    package let environments: PythonEnvironments
    package let store: ArtifactStore
    let listener: (any BuildListener)?
    let logger: Logger

    /// A builder for `home` that reports its progress to `logger`. Environments live in
    /// `home/envs` unless `environments` names another folder (tests share one, since a
    /// venv takes seconds to make).
    package init(
        home: String, registry: Registry, python: String = "python3", environments: String? = nil,
        listener: (any BuildListener)? = nil, logger: Logger
    ) async throws {
        self.home = home
        self.registry = registry
        self.environments = try await PythonEnvironments(folder: environments ?? home + "/envs", python: python)
        self.store = ArtifactStore(folder: home + "/artifacts")
        self.listener = listener
        self.logger = logger
    }

    /// Builds the request's commit and returns the outcome with the final build record
    /// (`status` is `succeeded` or `failed`), or the existing build of a queued commit
    /// that was already built. When the request came from the queue (`requestID`), the
    /// transaction that records the outcome also removes it, so a crash can neither lose
    /// the build nor run it twice. Throws only when the registry itself fails.
    @discardableResult
    package func build(_ request: BuildRequest, requestID: String? = nil) async throws -> BuildOutcome {
        var repository: GitRepository?
        var commit: ObjectID?
        var info: CommitInfo?
        var config: ModelConfig?
        var failure: String?
        var diagnostics: [ConfigDiagnostic] = []
        do {
            let opened = try GitRepository(path: request.repositoryPath)
            repository = opened
            commit = try opened.resolveCommit(request.commit)
            info = try opened.commitInfo(commit!)
            guard let parsed = try ModelConfig.at(commit!, in: opened) else {
                throw BuildFailure("no \(ModelConfig.fileName) at the root of commit \(commit!.hex.prefix(7))",
                                   hint: "add one (`slipway model init` writes a working example)")
            }
            config = parsed
        } catch let error as ConfigError {
            failure = error.description
            diagnostics = error.diagnostics
        } catch {
            failure = "\(error)"
        }

        let model = try config?.name ?? WatchedRepository.named(request.repositoryName, in: registry)?.model ?? request.repositoryName
        // A queued commit (the hook's, the watcher's) is built once, whoever asks first: one
        // built by hand meanwhile answers. A build by hand always builds (host data may
        // have changed), reusing unchanged artifacts.
        if requestID != nil, let commit, config != nil, let existing = try succeededBuild(model: model, commit: commit.hex) {
            if requestID != nil { try registry.transact(dequeue(requestID)) }
            // Debug: the agent's build service logs the outcome it is handed.
            logger.debug("already built", metadata: [
                "model.name": "\(model)", "build.id": "\(existing.attributes["id"]?.stringValue ?? "")", "commit.sha": "\(commit.hex.prefix(12))",
            ])
            return .alreadyBuilt(existing)
        }
        let number = Int(try registry.update(BuildTables.models, ItemKey(model), [.add("builds", 1)]).attributes["builds"]?.intValue ?? 1)
        let id = BuildTables.buildID(model: model, number: number)
        let key = ItemKey(model, BuildTables.sortKey(number))
        let log = BuildLog(path: home + "/logs/builds/\(id).log")
        var logger = self.logger
        logger[metadataKey: "model.name"] = "\(model)"
        logger[metadataKey: "build.id"] = "\(id)"
        let say = BuildProgress(log: log, logger: logger)

        var record: [String: JSONValue] = request.json.merging([
            "id": .string(id), "model": .string(model), "number": .int(Int64(number)), "status": "running",
            "requestID": requestID.map(JSONValue.string) ?? .null,
            "startedAt": .double(Date().timeIntervalSince1970), "pid": .int(Int64(getpid())), "log": .string(log.path),
        ]) { $1 }
        if let commit { record["commit"] = .string(commit.hex) }
        if let info {
            record["author"] = .string("\(info.authorName) <\(info.authorEmail)>")
            record["message"] = .string(info.summary)
            record["committedAt"] = .int(info.time)
        }
        try registry.put(BuildTables.builds, key, record, condition: .absent)
        say("building \(request.branch.map { "\($0) at " } ?? "")\(commit?.hex.prefix(7) ?? Substring(request.commit)) of \(request.repositoryPath)")

        if failure == nil, let repository, let commit, let config {
            do {
                let outcome = try await buildArtifacts(config: config, repository: repository, commit: commit, say: say)
                record.merge(outcome) { $1 }
            } catch let error as ConfigError {
                failure = error.description
                diagnostics = error.diagnostics
            } catch {
                failure = "\(error)"
            }
        }
        record["finishedAt"] = .double(Date().timeIntervalSince1970)
        record["pid"] = nil

        guard failure == nil, let config else {
            record["status"] = "failed"
            record["error"] = .string(failure ?? "unknown failure")
            if !diagnostics.isEmpty {
                record["diagnostics"] = .array(diagnostics.map { d in
                    ["keyPath": .string(d.keyPath), "line": d.line.map { .int(Int64($0)) } ?? .null,
                     "message": .string(d.message), "hint": d.hint.map(JSONValue.string) ?? .null]
                })
            }
            say("failed: \(failure ?? "")", level: .debug)  // the caller logs the outcome it is handed
            try registry.transact([.put(table: BuildTables.builds, key: key, attributes: record, condition: .exists)] + dequeue(requestID))
            let stored = try registry.get(BuildTables.builds, key)!
            listener?.buildFailed(model: model, buildID: id, record: stored.attributes)
            return .failed(stored)
        }

        record["status"] = "succeeded"
        var latest: [String: JSONValue] = [
            "build": .string(id), "commit": record["commit"]!, "configDigest": record["configDigest"]!,
            "stages": record["artifacts"]!, "completedAt": record["finishedAt"]!,
        ]
        if let branch = request.branch { latest["branch"] = .string(branch) }
        try registry.transact([
            .put(table: BuildTables.builds, key: key, attributes: record, condition: .exists),
            .update(table: BuildTables.models, key: ItemKey(model), changes: [
                .set("latest", .object(latest)), .set("repository", .string(request.repositoryName)),
                .set("repositoryPath", .string(request.repositoryPath)),
            ], condition: .none),
        ] + dequeue(requestID))
        try registry.update(WatchedRepository.table, ItemKey(request.repositoryName), [.set("model", .string(config.name))])
        say("succeeded", level: .debug)  // the caller logs the outcome it is handed
        let stored = try registry.get(BuildTables.builds, key)!
        listener?.buildSucceeded(model: model, buildID: id, record: stored.attributes)
        return .built(stored)
    }

    /// The newest successful build of `commit` of `model`, if there is one.
    func succeededBuild(model: String, commit: String) throws -> Item? {
        try registry.query(BuildTables.builds, partition: model, descending: true).items
            .first { $0.attributes["commit"]?.stringValue == commit && $0.attributes["status"] == "succeeded" }
    }

    /// The write that removes a handled request from the queue, as part of the outcome's transaction.
    private func dequeue(_ requestID: String?) -> [TransactionWrite] {
        requestID.map { [.delete(table: BuildQueue.table, key: ItemKey($0), condition: .exists)] } ?? []
    }

    /// Validates the config against the commit, digests host data, makes each stage's
    /// artifact and runs the build steps; returns what the build record gains.
    private func buildArtifacts(
        config: ModelConfig, repository: GitRepository, commit: ObjectID, say: BuildProgress
    ) async throws -> [String: JSONValue] {
        let snapshot = try GitSnapshot(repository: repository, commit: commit)
        let problems = config.check(against: snapshot)
        guard problems.isEmpty else {
            throw ConfigError(file: "\(ModelConfig.fileName) at \(commit.hex.prefix(7))", diagnostics: problems)
        }
        var data: [String: JSONValue] = [:]
        for input in config.data {
            switch input.source {
            case .repository(let path):
                let files = snapshot.files(under: path).map { "\($0.contentID) \($0.path)" }
                data[input.name] = ["path": .string(path), "digest": .string(Digest.sha256(lines: files))]
            case .host(let path):
                do {
                    data[input.name] = ["host": .string(path), "digest": .string(try Digest.ofHostPath(path))]
                } catch {
                    throw BuildFailure("host data '\(input.name)' at '\(path)' cannot be read", hint: "create it, or fix data.\(input.name).host")
                }
            }
        }
        let requirements = try config.requirements.map { try snapshot.contents(of: try snapshot.resolve($0) ?? $0) }
        let environment = try await environments.environment(requirements: requirements) { say.output($0) }
        say(environment.created ? "environment \(environment.digest.prefix(12)) created" : "cache hit: environment \(environment.digest.prefix(12))",
            metadata: ["environment.digest": "\(environment.digest)"])

        var artifacts: [String: JSONValue] = [:]
        var byKind: [StageKind: Artifact] = [:]
        for (kind, stage) in config.stages.sorted(by: { $0.key < $1.key }) {
            let artifact = try store.artifact(for: stage, config: config, snapshot: snapshot, environment: environment, commit: commit.hex)
            byKind[kind] = artifact
            say(artifact.created ? "built \(kind.rawValue) artifact \(artifact.digest.prefix(12))" : "cache hit: \(kind.rawValue) artifact \(artifact.digest.prefix(12))",
                metadata: ["stage.name": "\(kind.rawValue)", "artifact.digest": "\(artifact.digest)"])
            artifacts[kind.rawValue] = ["digest": .string(artifact.digest), "path": .string(artifact.path), "reused": .bool(!artifact.created)]
            if artifact.created {
                try registry.put(BuildTables.artifacts, ItemKey(artifact.digest), [
                    "stage": .string(kind.rawValue), "model": .string(config.name), "path": .string(artifact.path),
                    "environment": .string(environment.path), "firstCommit": .string(commit.hex),
                    "createdAt": .double(Date().timeIntervalSince1970),
                ])
            }
        }
        if !config.buildSteps.isEmpty {
            // Steps (the repository's own tests, say) see the whole commit, in a scratch copy.
            let work = home + "/work/" + commit.hex + "-\(getpid())"
            try? FileManager.default.removeItem(atPath: work)
            defer { try? FileManager.default.removeItem(atPath: work) }
            try snapshot.extract(to: work)
            for step in config.buildSteps {
                try await runStep(step, in: work, environment: byKind[step.stage]!.environment,
                            resources: config.stages[step.stage]!.resources, say: say)
            }
        }
        let configBytes = try snapshot.contents(of: ModelConfig.fileName)
        return ["artifacts": .object(artifacts), "data": .object(data), "configDigest": .string(Digest.sha256(configBytes)),
                "python": .string(environments.version)]
    }

    /// Runs a build step in the sandbox model code runs in, under the stage's limits: the
    /// stage's environment and its interpreter read-only, the scratch copy of the commit
    /// writable (where it starts), no network, nothing of the home or the registry. The
    /// timeout, or the step's end, ends its whole tree, so a hung step or a daemon it
    /// started cannot stall the builds after it.
    private func runStep(
        _ step: BuildStep, in work: String, environment: PythonEnvironment, resources: Resources, say: BuildProgress
    ) async throws {
        say("step '\(step.name)' in the \(step.stage.rawValue) environment: \(step.run)", metadata: ["build.step": "\(step.name)"])
        let variables = [
            "PATH": environment.path + "/bin:/usr/local/bin:/usr/bin:/bin", "VIRTUAL_ENV": environment.path, "PYTHONDONTWRITEBYTECODE": "1",
            "HOME": "/tmp", "TMPDIR": "/tmp", "LANG": "C.UTF-8",
        ]
        var sandbox = Sandbox.isolated(reading: Sandbox.interpreterFolders(environment.python))
        sandbox.mounts.append(.writable(work, at: work))
        sandbox.workingDirectory = work
        sandbox.limits = ResourceLimits(memoryBytes: resources.memoryBytes, cpus: resources.cpus)
        let timeout = resources.timeoutSeconds
        let run: SandboxResult
        do {
            run = try await sandbox.run("/bin/sh", ["-c", step.run], environment: variables, name: "step-" + step.name, timeout: .seconds(timeout))
        } catch {
            throw BuildFailure("build step '\(step.name)' could not start: \(error)")
        }
        let result = run.process
        say.output(result.output, metadata: ["build.step": "\(step.name)"])
        say("step '\(step.name)' ran under \(run.enforcement)" + (run.leftovers > 0 ? "; \(run.leftovers) processes it left running were killed" : ""),
            level: .debug, metadata: ["build.step": "\(step.name)"])
        if result.timedOut {
            throw BuildFailure("build step '\(step.name)' timed out after \(timeout) s",
                               hint: "make it faster, or raise stages.\(step.stage.rawValue).resources.timeout")
        }
        if run.outOfMemoryKills > 0 || (result.status != 0 && run.memoryLimitReached) {
            throw BuildFailure("build step '\(step.name)' ran out of memory: limit \(ResourceLimits.size(resources.memoryBytes))",
                               hint: "raise stages.\(step.stage.rawValue).resources.memory")
        }
        guard result.succeeded else {
            throw BuildFailure("build step '\(step.name)' failed with exit status \(result.status): \(result.output.suffix(600))",
                               hint: "run `\(step.run)` in the repository to see it fail")
        }
    }
}

/// Where a build's progress goes: its log file, and the logger (carrying the build's
/// `model.name` and `build.id`). Blank messages are dropped.
struct BuildProgress: Sendable {
    let log: BuildLog
    let logger: Logger

    /// An event of the build ("cache hit: train artifact 3f2a…"), at `info` unless `level` says otherwise.
    func callAsFunction(_ message: String, level: Logger.Level = .info, metadata: Logger.Metadata = [:]) {
        guard !message.allSatisfy(\.isWhitespace) else { return }
        log.append(message)
        logger.log(level: level, "\(message)", metadata: metadata)
    }

    /// What a command of the build printed (venv, pip, a build step), at `debug`.
    func output(_ text: String, metadata: Logger.Metadata = [:]) {
        callAsFunction(text, level: .debug, metadata: metadata)
    }
}

/// A build's log file, appended to as the build goes.
final class BuildLog: Sendable {
    let path: String

    init(path: String) {
        self.path = path
        try? FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
    }

    func append(_ text: String) {
        let line = text.hasSuffix("\n") ? text : text + "\n"
        let fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        guard fd >= 0 else { return }
        _ = line.utf8CString.withUnsafeBufferPointer { write(fd, $0.baseAddress, $0.count - 1) }
        close(fd)
    }
}
