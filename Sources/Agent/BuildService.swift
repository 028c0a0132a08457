import ArtifactBuilder
import Foundation
import GitWatcher
import Logging
import Pipelines
import Registry
import ServiceLifecycle

/// Builds what is pushed: the spool the hook writes and the branch tips the watcher scans,
/// whenever one of their folders changes (inotify) and at least every interval. After
/// each build it tells the notify targets, and a successful build of a model that trains
/// (`build.train`, not a composite) starts its training execution in the execution
/// service. A pass that meets problems (a full disk, a refused spooled push) logs each
/// once and backs off (`FailureBackoff`). On graceful shutdown it stops after the build
/// in progress.
package struct BuildService: Service {
    let agent: BuildAgent
    let pipelines: Pipelines
    let changes: Changes
    let logger: Logger

    /// What the build service does after a build: notifications and training.
    package struct Pipelines: Sendable {
        /// The pipelines' task resources (configs, notify targets).
        package let training: TrainingResources
        /// Where trainings run.
        package let executions: ExecutionService
    }

    /// Builds until graceful shutdown (after the build in progress).
    package func run() async throws {
        try FileManager.default.createDirectory(atPath: Spool(home: agent.home).folder, withIntermediateDirectories: true)
        try agent.markInterruptedBuilds()
        startMissingTrainings()
        let (agent, changes) = (self.agent, self.changes)
        await FailureBackoff.loop("collecting and building pushes", clock: changes.clock, logger: logger) {
            await pass()
        } next: {
            try await changes.next(watching: agent.watchedFolders())
        }
    }

    /// Collects pushes, then builds until the queue is empty (or shutdown is asked for);
    /// returns the problems met, nil when there were none.
    func pass() async -> String? {
        var problems = agent.collect()
        do {
            while !Task.isShuttingDownGracefully, !Task.isCancelled, let (request, id) = try agent.next() {
                await finished(try await agent.builder.build(request, requestID: id))
            }
        } catch {
            problems.append("building failed: \(error)")
        }
        return problems.isEmpty ? nil : problems.joined(separator: "; ")
    }

    /// Notifies a build's outcome and starts the training a successful one asks for.
    func finished(_ outcome: BuildOutcome) async {
        let record = outcome.record.attributes
        let succeeded: Bool
        switch outcome {
        case .alreadyBuilt:
            logger.info("already built", metadata: ["build.id": "\(record["id"]?.stringValue ?? "")"])
            return
        case .built: succeeded = true
        case .failed: succeeded = false
        }
        let model = record["model"]?.stringValue ?? ""
        var metadata: Logger.Metadata = ["model.name": "\(model)", "build.id": "\(record["id"]?.stringValue ?? "")",
                                         "commit.sha": "\(record["commit"]?.stringValue?.prefix(12) ?? "")"]
        if succeeded {
            logger.info("build succeeded", metadata: metadata)
        } else {
            metadata["error.message"] = "\(record["error"]?.stringValue ?? "")"
            logger.warning("build failed", metadata: metadata)
        }
        // Training first, notifications after: a crash while a webhook answers must not
        // lose the training. Its name comes from the build, so asking twice finds it.
        if succeeded { startTraining(record, metadata: metadata) }
        var details: [String: JSONValue] = ["model": .string(model)]
        for key in ["id", "commit", "branch", "error", "status"] { details[key] = record[key] }
        await Notifier(registry: pipelines.training.registry, transport: pipelines.training.http, logger: logger).notify(succeeded ? "BuildSucceeded" : "BuildFailed", details: details,
                                                                       targets: pipelines.training.notifyTargets(model: model))
    }

    /// Starts the training of each model's latest build when an agent died between
    /// recording the build and starting its training: the build has no version and no
    /// execution named after it.
    func startMissingTrainings() {
        do {
            for item in try agent.registry.scan(BuildTables.models).items {
                guard let build = item.attributes["latest"]?["build"]?.stringValue,
                    let parsed = BuildTables.parse(buildID: build),
                    let record = try agent.registry.get(BuildTables.builds, ItemKey(parsed.model, BuildTables.sortKey(parsed.number)))?.attributes,
                    !FileManager.default.fileExists(atPath: pipelines.executions.executions.store.folder + "/training-" + build),
                    try !ModelVersions(registry: agent.registry).list(parsed.model).contains(where: { $0["build"]?.stringValue == build })
                else { continue }
                logger.info("the latest build has no training; starting it", metadata: ["build.id": "\(build)"])
                startTraining(record, metadata: ["model.name": "\(parsed.model)", "build.id": "\(build)"])
            }
        } catch {
            logger.error("looking for builds without a training failed: \(error)")
        }
    }

    /// Starts the training a successful build asks for (`build.train`, not a composite).
    func startTraining(_ record: [String: JSONValue], metadata: Logger.Metadata) {
        var metadata = metadata
        do {
            let model = record["model"]?.stringValue ?? ""
            let (config, _) = try pipelines.training.config(model: model)
            guard config.trainAfterBuild, config.compose.isEmpty else { return }
            let name = "training-" + (record["id"]?.stringValue ?? PipelineExecutions.newName("training", model: model))
            let (stored, lock) = try pipelines.executions.executions.createTraining(model: model, commit: record["commit"]?.stringValue, name: name)
            metadata["execution.id"] = "\(stored.name)"
            logger.info("training started", metadata: metadata)
            pipelines.executions.submit(stored, lock: lock)
        } catch {
            metadata["error.message"] = "\(error)"
            logger.error("training could not start", metadata: metadata)
        }
    }
}
