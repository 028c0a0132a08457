import ArtifactBuilder
import Foundation
import GitWatcher
import Jobs
import Logging
import Registry
import StatesLanguage

/// The task resources the shipped `training` definition calls, for one Slipway home.
package struct TrainingResources: Sendable {
    package let home: String
    package let registry: Registry
    /// Where stage jobs run (default: the local bubblewrap sandbox, work folders in `HOME/jobs`).
    package let jobs: any JobBackend
    /// How the HTTP task and webhooks reach the network (default: AsyncHTTPClient).
    package let http: any HTTPTransport
    /// Where the resources report what a person should know (a notification not delivered).
    package let logger: Logger

    /// The resources of `home`; jobs run on `jobs`, else in the local sandbox; HTTP goes
    /// through `http`, else through `HTTPClientTransport`; warnings go to `logger`.
    package init(home: String, registry: Registry, jobs: (any JobBackend)? = nil, http: (any HTTPTransport)? = nil, logger: Logger) {
        self.home = home
        self.registry = registry
        self.jobs = jobs ?? LocalSandboxBackend(folder: home + "/jobs")
        self.http = http ?? HTTPClientTransport()
        self.logger = logger
    }

    /// A shipped state machine: `training` or `deployment`.
    package static func definition(_ name: String = "training") throws -> String {
        guard let url = Bundle.module.url(forResource: name, withExtension: "json", subdirectory: "Definitions") else {
            throw StatesError("States.Runtime", "the \(name) definition is missing from Slipway's installation")
        }
        return try String(contentsOf: url, encoding: .utf8)
    }

    /// The interpreter of a stage artifact's Python environment (from its `manifest.json`).
    static func python(ofArtifact path: String) -> String {
        let manifest = (try? JSONValue(parsing: Array((try? Data(contentsOf: URL(fileURLWithPath: path + "/manifest.json"))) ?? Data()))) ?? [:]
        return (manifest["environment"]?["path"]?.stringValue ?? "") + "/bin/python"
    }

    /// The resources of both shipped pipelines by URI (with the engine's built-ins).
    package var all: [String: any TaskResource] {
        BuiltInResources.all(http: http).merging([
            "slipway:training.prepare": Prepare(resources: self), "slipway:training.job": Job(resources: self),
            "slipway:training.gates": Gates(), "slipway:training.register": Register(resources: self),
            "slipway:notify": Notify(resources: self),
        ]) { $1 }.merging(DeploymentResources(training: self).all) { $1 }
    }

    /// The model's config at the commit of its latest successful build.
    /// With `commit` (a sha or a prefix of one), the newest successful build of that commit.
    package func config(model: String, commit wanted: String? = nil) throws(StatesError) -> (ModelConfig, [String: JSONValue]) {
        do {
            guard let item = try registry.get(BuildTables.models, ItemKey(model)), case .object(var latest)? = item.attributes["latest"],
                let path = item.attributes["repositoryPath"]?.stringValue
            else {
                throw StatesError("Model.NotBuilt", "model '\(model)' has no successful build; push its repository or run `slipway build \(model)`")
            }
            if let wanted {
                let builds = try registry.query(BuildTables.builds, partition: model, descending: true).items.map(\.attributes)
                guard let build = builds.first(where: { $0["status"] == .string(BuildStatus.succeeded.rawValue) && ($0["commit"]?.stringValue ?? "").hasPrefix(wanted) }) else {
                    throw StatesError("Model.NotBuilt", "model '\(model)' has no successful build of commit '\(wanted)'; run `slipway build \(model) --commit \(wanted)`")
                }
                latest = ["build": build["id"] ?? .null, "commit": build["commit"] ?? .null, "stages": build["artifacts"] ?? [:]]
            }
            guard let commit = latest["commit"]?.stringValue else { throw StatesError("Model.NotBuilt", "model '\(model)' has no built commit") }
            let repository = try GitRepository(path: path)
            guard let config = try ModelConfig.at(ObjectID(hex: commit), in: repository) else {
                throw StatesError("Model.NotBuilt", "no \(ModelConfig.fileName) at \(commit.prefix(7))")
            }
            return (config, latest)
        } catch let error as StatesError {
            throw error
        } catch {
            throw StatesError("States.TaskFailed", "\(error)")
        }
    }
}

extension TrainingResources {
    /// Where a model's events go: its config's `notify` targets and the agent's.
    package func notifyTargets(model: String?) -> [NotifyTarget] {
        let own = model.flatMap { try? config(model: $0).0.notify } ?? []
        return own + ((try? AgentSettings.load(home: home).notify) ?? [])
    }
}

/// `slipway:training.prepare`: everything the jobs need, from the registry and the config.
struct Prepare: TaskResource {
    let resources: TrainingResources

    func invoke(_ request: TaskRequest) async throws(StatesError) -> JSONValue {
        guard let model = request.input["model"]?.stringValue else { throw StatesError("States.Runtime", "the input needs \"model\"") }
        let (config, latest) = try resources.config(model: model, commit: request.input["request"]?["commit"]?.stringValue)
        guard let commit = latest["commit"]?.stringValue else { throw StatesError("Model.NotBuilt", "model '\(model)' has no built commit") }
        var stages: [String: PreparedStage] = [:]
        for (kind, stage) in config.stages where kind != .serve {
            guard let artifact = latest["stages"]?[kind.rawValue], let path = artifact["path"]?.stringValue else { continue }
            stages[kind.rawValue] = PreparedStage(
                kind: kind == .train ? .training : .processing, code: path + "/code", script: stage.script,
                digest: artifact["digest"]?.stringValue, python: TrainingResources.python(ofArtifact: path),
                arguments: stage.arguments, hyperparameters: Dictionary(stage.hyperparameters, uniquingKeysWith: { $1 }),
                outputs: kind == .evaluate ? ["evaluation"] : stage.outputs,
                cpus: stage.resources.cpus, memory: stage.resources.memoryBytes, timeout: stage.resources.timeoutSeconds,
                network: stage.network, retries: stage.retry.attempts, cache: stage.cache)
        }
        var data: [String: String] = [:]
        for input in config.data where config.stages[.preprocess]?.inputs.contains(input.name) ?? false {
            switch input.source {
            case .repository(let path):
                guard let code = stages["preprocess"]?.code else { continue }
                data[input.name] = code + "/" + path
            case .host(let path): data[input.name] = path
            }
        }
        // The build record holds the content digests of the data the build saw.
        let build = latest["build"]?.stringValue
        let dataDigests = build.flatMap(BuildTables.parse(buildID:)).flatMap { build in
            try? resources.registry.get(BuildTables.builds, ItemKey(build.model, BuildTables.sortKey(build.number)))?.attributes["data"]
        } ?? .null
        return try .encoded(PreparedTraining(
            model: model, commit: commit, build: build, dataDigests: dataDigests, stages: stages, data: data,
            approval: config.approval, gates: config.gates))
    }
}

/// `slipway:training.job`: one stage's job, through the step cache.
struct Job: TaskResource {
    let resources: TrainingResources

    func invoke(_ request: TaskRequest) async throws(StatesError) -> JSONValue {
        let input = try request.input.decoded(JobInput.self, by: "slipway:training.job")
        let stage = input.stage
        guard let spec = input.prepared.stages[stage] else {
            throw StatesError("Job.Failed", "the model has no \(stage) stage")
        }
        var job = JobSpec(
            kind: spec.kind, stage: stage, codePath: spec.code, script: spec.script, python: spec.python,
            resources: JobResources(cpus: spec.cpus, memoryBytes: spec.memory, timeoutSeconds: spec.timeout))
        job.arguments = spec.arguments
        job.hyperparameters = spec.hyperparameters.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
        job.outputs = spec.outputs
        job.network = spec.network
        job.inputs = input.inputs ?? [:]
        if stage == "evaluate" { job.processingDestinations = Set(job.inputs.keys) }

        let cache = StepCache(home: resources.home, registry: resources.registry)
        let key = cache.key(for: job, artifact: spec.digest ?? "")
        if spec.cache, let hit = cache.lookup(key) {
            var result = hit
            if case .object(var members) = result {
                members["cache"] = .string("hit: \(stage), key \(key.prefix(12)), from execution \(hit["execution"]?.stringValue ?? "?")")
                result = .object(members)
            }
            return result
        }
        // One id per execution and stage, so that `slipway logs --follow` finds a running job's output.
        let execution = input.execution?.split(separator: ":").last.map(String.init) ?? UUID().uuidString
        let id = JobID.of(execution: execution, stage: stage)
        let result: JobResult
        do {
            result = try await resources.jobs.run(job, id: id)
        } catch {
            let attempt = input.attempt ?? 0
            if error.error == "Job.Failed" && attempt < spec.retries {
                throw StatesError("Job.Retryable", "attempt \(attempt + 1) of \(spec.retries + 1): \(error.cause)")
            }
            throw StatesError(error.error, error.cause)
        }
        return try cache.store(key, result: result, stage: stage, execution: input.execution ?? "")
    }

    /// A job whose runner (the agent) died each time it ran it is `Job.Failed` with the
    /// cause, or `Job.Retryable` while the stage's retries last, as a failed job is.
    func runnerDied(_ request: TaskRequest, cause: String) -> StatesError {
        guard let input = try? request.input.decoded(JobInput.self, by: "slipway:training.job"),
            let spec = input.prepared.stages[input.stage]
        else { return StatesError("Job.Failed", cause) }
        let attempt = input.attempt ?? 0
        if attempt < spec.retries {
            return StatesError("Job.Retryable", "attempt \(attempt + 1) of \(spec.retries + 1) of \(input.stage): \(cause)")
        }
        return StatesError("Job.Failed", "\(input.stage): \(cause)")
    }
}

/// `slipway:training.gates`: the config's gates against the evaluation report.
struct Gates: TaskResource {
    func invoke(_ request: TaskRequest) async throws(StatesError) -> JSONValue {
        let input = try request.input.decoded(GatesInput.self, by: "slipway:training.gates")
        guard let data = FileManager.default.contents(atPath: input.evaluation + "/evaluation.json"), let report = try? JSONValue(parsing: Array(data)) else {
            throw StatesError("Job.Failed", "the evaluate stage wrote no readable /opt/ml/processing/evaluation/evaluation.json")
        }
        return try .encoded(GateVerdict.evaluate(input.prepared.gates, report: report))
    }
}

/// `slipway:training.register`: a model version with its metrics and lineage.
struct Register: TaskResource {
    let resources: TrainingResources

    func invoke(_ request: TaskRequest) async throws(StatesError) -> JSONValue {
        let input = try request.input.decoded(RegisterInput.self, by: "slipway:training.register")
        let prepared = input.prepared
        let verdict = input.verdict
        let status: ModelVersions.Status = verdict.passed ? (prepared.approval == .auto ? .approved : .pendingManualApproval) : .rejected
        var lineage: [String: JSONValue] = [
            "commit": .string(prepared.commit), "build": prepared.build.map(JSONValue.string) ?? .null,
            "execution": input.execution.map(JSONValue.string) ?? .null,
            "artifacts": .object(prepared.stages.mapValues { $0.digest.map(JSONValue.string) ?? .null }),
            "hyperparameters": .object((prepared.stages["train"]?.hyperparameters ?? [:]).mapValues(JSONValue.string)),
            "data": prepared.dataDigests,
            "modelArchive": input.jobs["train"]?["modelArchive"] ?? .null,
        ]
        let model = prepared.model
        let registered: RegisteredVersion
        do {
            let versions = ModelVersions(registry: resources.registry)
            // A training of the same build whose model archive is byte for byte an existing
            // version's (every step came from the cache) answers with that version instead
            // of another. (Another build, a change of serve.py say, is another version.)
            if let archive = lineage["modelArchive"]?.stringValue {
                let digest = try Digest.ofHostPath(archive)
                lineage["modelDigest"] = .string(digest)
                // (Only with the same verdict: looser gates may accept what was rejected.)
                if let same = try versions.list(model).last(where: {
                    $0["modelDigest"]?.stringValue == digest && $0["build"] == lineage["build"]
                        && ($0["status"] == .string(ModelVersions.Status.rejected.rawValue)) == (status == .rejected)
                }) {
                    guard let number = same["version"]?.intValue, let sameStatus = same["status"]?.stringValue.flatMap(ModelVersions.Status.init) else {
                        throw StatesError("States.TaskFailed", "version record \(same["version"] ?? .null) of '\(model)' has no valid version or status; see `slipway versions list \(model)`")
                    }
                    return try .encoded(RegisteredVersion(
                        model: model, version: Int(number), status: sameStatus,
                        reasons: same["statusReason"]?.stringValue.map { [$0] } ?? [], sameAs: same["execution"]?.stringValue))
                }
            }
            let number = try versions.register(
                model: model, status: status, metrics: verdict.metrics, lineage: lineage,
                reason: verdict.passed ? nil : verdict.reasons.joined(separator: "; "))
            registered = RegisteredVersion(model: model, version: number, status: status, reasons: verdict.reasons)
        } catch let error as StatesError {
            throw error
        } catch {
            throw StatesError("States.TaskFailed", "registering the version failed: \(error)")
        }
        return try .encoded(registered)
    }
}

/// `slipway:notify`: tells the model's `notify` targets what happened. Input: `model`,
/// `event` (the event's type) and any details; a registered version also sends
/// `VersionPendingApproval` when it waits for a person.
struct Notify: TaskResource {
    let resources: TrainingResources

    func invoke(_ request: TaskRequest) async throws(StatesError) -> JSONValue {
        guard case .object(var details) = request.input, let type = details.removeValue(forKey: "event")?.stringValue else {
            throw StatesError("States.Runtime", "slipway:notify needs {\"event\": TYPE, ...}")
        }
        let model = details["model"]?.stringValue ?? ""
        let targets = resources.notifyTargets(model: model)
        let notifier = Notifier(registry: resources.registry, transport: resources.http, logger: resources.logger)
        var attempts = await notifier.notify(type, details: details, targets: targets)
        if details["version"]?["status"] == .string(ModelVersions.Status.pendingManualApproval.rawValue) {
            attempts += await notifier.notify("VersionPendingApproval", details: details, targets: targets)
        }
        return ["targets": .int(Int64(targets.count)), "delivered": .int(Int64(attempts.filter(\.delivered).count))]
    }
}
