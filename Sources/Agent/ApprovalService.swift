import Foundation
import Logging
import Pipelines
import Registry
import ServiceLifecycle

/// `deploy.on_approval`: consumes the `VersionApproved` events that approvals write
/// (table `version-events`) and starts a deployment for each version whose config asks
/// for one. A crash at any point neither loses nor doubles a deployment: the deployment
/// execution is named after the event (creating it again finds it), and the event is
/// deleted in the same transaction that records the deployment it started (table
/// `approval-deployments`).
package struct ApprovalService: Service {
    /// The record of each deployment an approval started: `approval-deployments/MODEL/EVENT`.
    package static let table = "approval-deployments"

    let training: TrainingResources
    let executions: ExecutionService
    let changes: Changes
    let logger: Logger

    /// A service taking the events of `training`'s registry into deployments on
    /// `executions`, looking again whenever `changes` says so.
    package init(training: TrainingResources, executions: ExecutionService, changes: Changes, logger: Logger) {
        self.training = training
        self.executions = executions
        self.changes = changes
        self.logger = logger
    }

    /// Takes events until graceful shutdown; while events cannot be read or handled (a
    /// full disk), it backs off and logs each error once.
    package func run() async throws {
        let (folder, changes) = (training.registry.root + "/tables/" + ModelVersions.events, self.changes)
        await FailureBackoff.loop("taking approval events", clock: changes.clock, logger: logger) {
            let problems = handleEvents().problems
            return problems.isEmpty ? nil : problems.joined(separator: "; ")
        } next: {
            try await changes.next(watching: [folder])
        }
    }

    /// Handles every pending event once, logging what failed; returns the deployments started.
    @discardableResult
    package func takeEvents() -> [String] {
        let (started, problems) = handleEvents()
        for problem in problems { logger.error("\(problem)") }
        return started
    }

    /// Handles every pending event once; returns the deployments started and what failed
    /// (each failed event is tried again at the next pass).
    func handleEvents() -> (started: [String], problems: [String]) {
        let registry = training.registry
        let events: [Item]
        do { events = try registry.scan(ModelVersions.events).items } catch {
            return ([], ["reading approval events failed: \(error)"])
        }
        var started: [String] = []
        var problems: [String] = []
        for event in events {
            do {
                if let name = try take(event) { started.append(name) }
            } catch {
                problems.append("the approval event '\(event.key)' could not be handled; it is tried again: \(error)")
            }
        }
        return (started, problems)
    }

    private func take(_ event: Item) throws -> String? {
        let registry = training.registry
        guard let model = event.attributes["model"]?.stringValue, let version = event.attributes["version"]?.intValue else {
            logger.warning("dropping a malformed approval event: \(event.attributes)")
            try registry.delete(ModelVersions.events, event.key, condition: .version(event.version))
            return nil
        }
        let metadata: Logger.Metadata = ["model.name": "\(model)", "model.version": "\(version)"]
        let commit = try ModelVersions(registry: registry).get(model, Int(version))?["commit"]?.stringValue
        let config = try training.config(model: model, commit: commit).0
        guard config.deploy.onApproval else {
            logger.info("version approved; not deployed (deploy.on_approval is off)", metadata: metadata)
            try registry.delete(ModelVersions.events, event.key, condition: .version(event.version))
            return nil
        }
        let eventID = event.key.sort ?? "\(event.version)"
        let name = "deployment-\(model)-v\(version)-" + eventID.filter { $0.isNumber }
        let (stored, lock) = try executions.executions.createDeployment(model: model, version: Int(version), name: name)
        try registry.transact([
            .delete(table: ModelVersions.events, key: event.key, condition: .version(event.version)),
            .put(table: Self.table, key: ItemKey(model, eventID),
                 attributes: ["model": .string(model), "version": .int(version), "execution": .string(stored.name),
                              "at": .double(Date().timeIntervalSince1970)], condition: .absent),
        ])
        var fields = metadata
        fields["execution.id"] = "\(stored.name)"
        logger.info("version approved; deployment started (deploy.on_approval)", metadata: fields)
        executions.submit(stored, lock: lock)
        return stored.name
    }
}
