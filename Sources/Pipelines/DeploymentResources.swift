import ArtifactBuilder
import Foundation
import Registry
import Serving
import StatesLanguage

/// The task resources the shipped `deployment` definition calls.
struct DeploymentResources {
    let training: TrainingResources
    var registry: Registry { training.registry }
    var endpoints: EndpointRecords { EndpointRecords(registry: training.registry) }

    /// The table of deployments: `deployments/ENDPOINT` is the in-progress mark and the
    /// last outcome; `deployment-history/ENDPOINT/TIME` keeps every outcome.
    static let table = "deployments"
    static let history = "deployment-history"

    var all: [String: any TaskResource] {
        ["slipway:deploy.prepare": DeployPrepare(resources: self), "slipway:deploy.mark": DeployMark(resources: self),
         "slipway:deploy.config": DeployConfig(resources: self), "slipway:deploy.autoscaling": DeployAutoscaling(resources: self),
         "slipway:deploy.begin": DeployBegin(resources: self), "slipway:deploy.status": DeployStatus(resources: self),
         "slipway:deploy.finish": DeployFinish(resources: self)]
    }

    /// Runs `body`, turning a registry error that may pass (I/O, a lock held too long)
    /// into `Registry.Transient` (the pipeline retries it), and any other error but a
    /// `StatesError` into `States.TaskFailed`.
    static func task<T>(_ body: () throws -> T) throws(StatesError) -> T {
        do {
            return try body()
        } catch let error as StatesError {
            throw error
        } catch let error as RegistryError {
            switch error {
            case .io, .lockTimeout: throw StatesError("Registry.Transient", error.description)
            default: throw StatesError("States.TaskFailed", error.description)
            }
        } catch {
            throw StatesError("States.TaskFailed", "\(error)")
        }
    }

    /// Waits that double from 1 s up to a cap, and how many checks fit in `timeout`.
    static func polling(timeout: Int) -> PreparedDeployment.Polling {
        let cap = max(1, min(30, timeout / 5))
        var wait = 1
        var total = 0
        var checks = 0
        while total < timeout {
            total += wait
            checks += 1
            wait = min(wait * 2, cap)
        }
        return PreparedDeployment.Polling(firstWait: 1, maxWait: cap, maxChecks: max(1, checks))
    }
}

/// `slipway:deploy.prepare`: the version to deploy (Approved only), its serve artifact, its
/// model, the endpoint's name and configuration from the config at the version's commit.
struct DeployPrepare: TaskResource {
    let resources: DeploymentResources

    func invoke(_ request: TaskRequest) async throws(StatesError) -> JSONValue {
        guard let model = request.input["model"]?.stringValue else { throw StatesError("States.Runtime", "the input needs \"model\"") }
        let wanted = request.input["request"]?["version"]?.intValue.map(Int.init)
        let prepared = try DeploymentResources.task { () throws -> PreparedDeployment in
            if let composite = try compositeDeployment(model: model, build: wanted, request: request.input["request"] ?? [:]) { return composite }
            let versions = try ModelVersions(registry: resources.registry).list(model)
            let approved = ModelVersions.Status.approved.rawValue
            let version: [String: JSONValue]
            if let wanted {
                guard let found = versions.first(where: { $0["version"]?.intValue == Int64(wanted) }) else {
                    throw StatesError("Deployment.NoSuchVersion", "model '\(model)' has no version \(wanted); see `slipway versions list \(model)`")
                }
                guard found["status"]?.stringValue == approved else {
                    throw StatesError("Deployment.NotApproved",
                                      "version \(wanted) of '\(model)' is \(found["status"]?.stringValue ?? "?"), not Approved; approve it first with `slipway approve \(model) \(wanted)`")
                }
                version = found
            } else {
                guard let newest = versions.last(where: { $0["status"]?.stringValue == approved }) else {
                    throw StatesError("Deployment.NotApproved", "model '\(model)' has no Approved version; see `slipway versions list \(model)` and `slipway approve \(model) VERSION`")
                }
                version = newest
            }
            let number = Int(version["version"]?.intValue ?? 0)
            let (config, latest) = try resources.training.config(model: model, commit: version["commit"]?.stringValue)
            guard let serve = config.stages[.serve], let artifact = latest["stages"]?["serve"]?["path"]?.stringValue else {
                throw StatesError("Deployment.NoServeStage", "model '\(model)' declares no serve stage; add stages.serve.script to its \(ModelConfig.fileName)")
            }
            guard let archive = version["modelArchive"]?.stringValue, FileManager.default.fileExists(atPath: archive) else {
                throw StatesError("Deployment.NoModel", "version \(number) of '\(model)' has no trained model on this machine (\(version["modelArchive"]?.stringValue ?? "none recorded")); train it again with `slipway train \(model)`")
            }
            let variant = VariantConfig(
                name: "\(model)-v\(number)", model: model, version: number, code: artifact + "/code", script: serve.script,
                python: TrainingResources.python(ofArtifact: artifact), modelArchive: archive,
                modelDigest: try Digest.ofHostPath(archive))
            return try deployment(model: model, version: number, commit: version["commit"]?.stringValue, variant: variant, config: config,
                                  endpoint: request.input["request"]?["endpoint"]?.stringValue)
        }
        return try .encoded(prepared)
    }

    /// A composite (a config with `compose`) deploys a successful build, not a trained
    /// version: its newest, or build `wanted`. Nil for a model that is not a composite.
    private func compositeDeployment(model: String, build wanted: Int?, request: JSONValue) throws -> PreparedDeployment? {
        let (latestConfig, latest) = try resources.training.config(model: model)
        guard !latestConfig.compose.isEmpty else { return nil }
        var commit = latest["commit"]?.stringValue
        var number = latest["build"]?.stringValue.flatMap(BuildTables.parse(buildID:))?.number ?? 0
        if let wanted {
            guard let build = try resources.registry.get(BuildTables.builds, ItemKey(model, BuildTables.sortKey(wanted)))?.attributes,
                build["status"] == .string(BuildStatus.succeeded.rawValue)
            else {
                throw StatesError("Deployment.NoSuchVersion", "composite '\(model)' has no successful build \(wanted); see `slipway builds list \(model)`")
            }
            commit = build["commit"]?.stringValue
            number = wanted
        }
        let (config, stages) = try resources.training.config(model: model, commit: commit)
        guard let serve = config.stages[.serve], let artifact = stages["stages"]?["serve"]?["path"]?.stringValue else {
            throw StatesError("Deployment.NoServeStage", "composite '\(model)' has no built serve stage")
        }
        let variant = VariantConfig(
            name: "\(model)-b\(number)", model: model, version: number, code: artifact + "/code", script: serve.script,
            python: TrainingResources.python(ofArtifact: artifact), modelArchive: "", modelDigest: "")
        return try deployment(model: model, version: number, commit: commit, variant: variant, config: config,
                              endpoint: request["endpoint"]?.stringValue)
    }

    /// The prepared deployment: the endpoint, its configuration from the config's `deploy`, and the polling plan.
    private func deployment(model: String, version number: Int, commit: String?, variant: VariantConfig, config: ModelConfig,
                            endpoint requested: String?) throws -> PreparedDeployment {
        let endpoint = requested ?? config.deploy.endpoint ?? model
        guard EndpointRecords.isValidName(endpoint) else {
            throw StatesError("Deployment.InvalidEndpoint", "invalid endpoint name '\(endpoint)'; use lowercase letters, digits, '-' or '_', starting with a letter")
        }
        var variant = variant
        variant.workers = config.deploy.workers
        variant.memoryBytes = config.stages[.serve]?.resources.memoryBytes ?? variant.memoryBytes
        var endpointConfig = EndpointConfig(variants: [variant])
        endpointConfig.members = config.compose
        let deploy = config.deploy
        endpointConfig.autoscaling.minWorkers = deploy.minWorkers
        endpointConfig.autoscaling.maxWorkers = deploy.maxWorkers
        endpointConfig.autoscaling.targetInFlight = deploy.targetInFlight
        endpointConfig.autoscaling.scaleInCooldown = Double(deploy.scaleInCooldownSeconds)
        endpointConfig.traffic.mode = TrafficConfig.Mode(rawValue: deploy.strategy) ?? .allAtOnce
        endpointConfig.traffic.step = deploy.step
        endpointConfig.traffic.bakeSeconds = Double(deploy.bakeSeconds)
        endpointConfig.traffic.errorThreshold = deploy.errorThreshold
        endpointConfig.traffic.healthTimeout = Double(deploy.healthTimeoutSeconds)
        return PreparedDeployment(
            model: model, version: number, endpoint: endpoint, commit: commit, config: endpointConfig.json,
            timeout: deploy.timeoutSeconds, polling: DeploymentResources.polling(timeout: deploy.timeoutSeconds))
    }
}

/// `slipway:deploy.mark`: "deployment in progress" for the endpoint, written with a
/// condition. A deployment whose execution still runs refuses the new one by name; a mark
/// left by an execution that no longer runs (stopped or killed) is taken over.
struct DeployMark: TaskResource {
    let resources: DeploymentResources

    func invoke(_ request: TaskRequest) async throws(StatesError) -> JSONValue {
        let input = try request.input.decoded(DeploymentInput.self, by: "slipway:deploy.mark")
        let deployment = input.deployment
        let endpoint = deployment.endpoint
        let execution = input.execution ?? ""
        return try DeploymentResources.task {
            let current = try resources.registry.get(DeploymentResources.table, ItemKey(endpoint))
            if let current, current.attributes["status"] == .string(DeploymentStatus.inProgress.rawValue), let other = current.attributes["execution"]?.stringValue,
                other != execution, isRunning(other) {
                let name = other.split(separator: ":").last.map(String.init) ?? other
                throw StatesError("Deployment.InProgress",
                                  "endpoint '\(endpoint)' already has a deployment in progress: execution '\(name)' (\(current.attributes["model"]?.stringValue ?? "?") version \(current.attributes["version"]?.intValue ?? 0)); wait for it (`slipway executions describe \(name)`) or stop it (`slipway executions stop \(name)`)")
            }
            var attributes: [String: JSONValue] = [
                "status": .string(DeploymentStatus.inProgress.rawValue), "execution": .string(execution), "model": .string(deployment.model),
                "version": .int(Int64(deployment.version)), "startedAt": .double(Date().timeIntervalSince1970),
            ]
            if let last = current?.attributes["last"] { attributes["last"] = last }
            do {
                try resources.registry.put(DeploymentResources.table, ItemKey(endpoint), attributes, condition: current.map { .version($0.version) } ?? .absent)
            } catch RegistryError.conditionFailed {
                // Another deployment marked the endpoint between the read and the write: it won.
                let winner = try resources.registry.get(DeploymentResources.table, ItemKey(endpoint))?.attributes["execution"]?.stringValue ?? "?"
                let name = winner.split(separator: ":").last.map(String.init) ?? winner
                throw StatesError("Deployment.InProgress",
                                  "endpoint '\(endpoint)' was just marked by another deployment: execution '\(name)'; wait for it (`slipway executions describe \(name)`) or stop it (`slipway executions stop \(name)`)")
            }
            return JSONValue.null
        }
    }

    /// Whether a process runs the execution now (it holds the execution's lock).
    private func isRunning(_ execution: String) -> Bool {
        let name = execution.split(separator: ":").last.map(String.init) ?? execution
        let store = ExecutionStore(folder: resources.training.home + "/executions")
        guard let stored = try? store.open(name), (try? store.status(of: stored).status) == ExecutionStatus.running.rawValue else { return false }
        return store.lock(stored) == nil
    }
}

/// `slipway:deploy.config`: records the endpoint configuration; returns its generation.
struct DeployConfig: TaskResource {
    let resources: DeploymentResources

    func invoke(_ request: TaskRequest) async throws(StatesError) -> JSONValue {
        let input = try request.input.decoded(DeploymentInput.self, by: "slipway:deploy.config")
        let config = try input.deployment.endpointConfig(by: "slipway:deploy.config")
        return try DeploymentResources.task {
            .int(Int64(try resources.endpoints.recordConfig(input.deployment.endpoint, config: config, by: input.execution ?? "")))
        }
    }
}

/// `slipway:deploy.autoscaling`: the endpoint's autoscaling policy, from the config.
struct DeployAutoscaling: TaskResource {
    let resources: DeploymentResources

    func invoke(_ request: TaskRequest) async throws(StatesError) -> JSONValue {
        let input = try request.input.decoded(DeploymentInput.self, by: "slipway:deploy.autoscaling")
        let config = try input.deployment.endpointConfig(by: "slipway:deploy.autoscaling")
        try DeploymentResources.task { try resources.endpoints.setAutoscaling(input.deployment.endpoint, config.autoscaling) }
        return config.autoscaling.json
    }
}

/// `slipway:deploy.begin`: makes the recorded generation the desired one and returns at
/// once; the agent carries out the update.
struct DeployBegin: TaskResource {
    let resources: DeploymentResources

    func invoke(_ request: TaskRequest) async throws(StatesError) -> JSONValue {
        let input = try request.input.decoded(GenerationInput.self, by: "slipway:deploy.begin")
        try DeploymentResources.task { try resources.endpoints.begin(input.endpoint, generation: input.generation) }
        return ["endpoint": .string(input.endpoint), "generation": .int(Int64(input.generation))]
    }
}

/// `slipway:deploy.status`: where the update to a generation stands: `InService` (done),
/// `RolledBack` or `Failed` (with the reason), or `Updating`.
struct DeployStatus: TaskResource {
    let resources: DeploymentResources

    func invoke(_ request: TaskRequest) async throws(StatesError) -> JSONValue {
        let input = try request.input.decoded(GenerationInput.self, by: "slipway:deploy.status")
        let status = try DeploymentResources.task { try resources.endpoints.status(input.endpoint) } ?? [:]
        let update = status["lastUpdate"] ?? .null
        var answer = UpdateProgress(endpointStatus: status["status"]?.stringValue ?? "Creating", status: .updating, reason: nil)
        if update["generation"]?.intValue == Int64(input.generation) {
            switch update["outcome"]?.stringValue.flatMap(DeploymentStatus.init) {
            case .succeeded?: answer.status = .inService
            case .rolledBack?: answer.status = .rolledBack
            case .failed?: answer.status = .failed
            default: break
            }
            answer.reason = update["reason"]?.stringValue
        }
        if answer.status == .updating, ServingMarker.read(home: resources.training.home) == nil {
            answer.reason = "no agent is serving endpoints for this home; start one with `slipway agent`"
        }
        return try .encoded(answer)
    }
}

/// `slipway:deploy.finish`: records the outcome (Succeeded, RolledBack, Failed or TimedOut)
/// in the deployment's history and clears the in-progress mark; returns the outcome with
/// the endpoint's state and, unless it succeeded, a `cause` in words.
struct DeployFinish: TaskResource {
    let resources: DeploymentResources

    func invoke(_ request: TaskRequest) async throws(StatesError) -> JSONValue {
        let input = try request.input.decoded(FinishInput.self, by: "slipway:deploy.finish")
        let deployment = input.deployment
        let endpoint = deployment.endpoint
        let outcome = input.outcome
        let execution = input.execution ?? ""
        var cause = input.reason
        switch outcome {
        case .timedOut:
            cause = "endpoint '\(endpoint)' was not InService after \((input.checks ?? 0) + 1) checks over \(deployment.timeout) s"
                + (input.status?.reason.map { ": \($0)" } ?? "; its update goes on: `slipway endpoints describe \(endpoint)`")
        case .rolledBack:
            cause = "the update was rolled back and the endpoint serves what it served before: \(cause ?? "")"
        case .succeeded, .failed, .inProgress:
            break
        }
        if outcome != .succeeded && cause == nil { cause = "the update of '\(endpoint)' ended \(outcome.rawValue); see `slipway endpoints describe \(endpoint)`" }
        let record: [String: JSONValue] = [
            "status": .string(outcome.rawValue), "execution": .string(execution), "model": .string(deployment.model),
            "version": .int(Int64(deployment.version)), "generation": input.generation.map { .int(Int64($0)) } ?? .null,
            "finishedAt": .double(Date().timeIntervalSince1970), "cause": cause.map(JSONValue.string) ?? .null,
        ]
        try DeploymentResources.task {
            var writes: [TransactionWrite] = [
                .put(table: DeploymentResources.history, key: ItemKey(endpoint, String(format: "%017.6f", Date().timeIntervalSince1970)), attributes: record, condition: .absent),
            ]
            // The mark is this execution's to clear; another's (a deployment refused
            // because one was in progress) is left as it is.
            if let current = try resources.registry.get(DeploymentResources.table, ItemKey(endpoint)),
                current.attributes["execution"]?.stringValue == execution {
                var mark = current.attributes
                mark["status"] = .string(outcome.rawValue)
                mark["finishedAt"] = record["finishedAt"]
                if outcome == .succeeded { mark["last"] = .object(record) }
                writes.append(.put(table: DeploymentResources.table, key: ItemKey(endpoint), attributes: mark, condition: .version(current.version)))
            }
            try resources.registry.transact(writes)
        }
        var result = record
        result["endpoint"] = (try? resources.endpoints.describe(endpoint)) ?? .null
        // The pipeline's Fail states read `Cause`, the shape a caught error has too.
        result["Cause"] = record["cause"]
        return .object(result)
    }
}
