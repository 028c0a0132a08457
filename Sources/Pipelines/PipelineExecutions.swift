import Foundation
import Logging
import Registry
import StatesLanguage

/// The shipped pipelines' executions in one home: creating training and deployment
/// executions, and running a stored execution to its end in this process. The agent's
/// execution service and the CLI's `--wait` both run executions through `run`.
package struct PipelineExecutions: Sendable {
    /// The Slipway home.
    package let home: String
    /// Its registry.
    package let registry: Registry
    /// Its executions (`HOME/executions`).
    package let store: ExecutionStore
    /// Where the task resources report warnings (a notification not delivered).
    package let logger: Logger

    /// The executions of `home` (kept in `HOME/executions`); their resources warn on `logger`.
    package init(home: String, registry: Registry, logger: Logger) {
        self.home = home
        self.registry = registry
        self.store = ExecutionStore(folder: home + "/executions")
        self.logger = logger
    }

    /// Every task resource an execution of this home may call: the built-ins and the pipelines'.
    package var resources: [String: any TaskResource] { TrainingResources(home: home, registry: registry, logger: logger).all }

    /// The task resources that run jobs (a stage's sandboxed job, a command): what the
    /// agent's limit on executions at once counts.
    package static let jobResources: Set<String> = ["slipway:training.job", "slipway:command"]

    /// A new execution's name: `PIPELINE-MODEL-SECONDS-RANDOM`.
    package static func newName(_ pipeline: String, model: String) -> String {
        "\(pipeline)-\(model)-\(Int(Date().timeIntervalSince1970))-\(UUID().uuidString.prefix(6).lowercased())"
    }

    /// A stored `training` execution of `model` (its latest build, or the build of
    /// `commit`), with its lock held until the caller drops it or runs it. With `name`
    /// (the agent names a build's training after the build) an execution of that name
    /// that exists already is an error that says so.
    package func createTraining(model: String, commit: String? = nil, name: String? = nil) throws -> (ExecutionStore.Stored, ExecutionLock) {
        var input: [String: JSONValue] = ["model": .string(model)]
        if let commit { input["commit"] = .string(commit) }
        return try store.createHeld(name: name ?? Self.newName("training", model: model), definition: try TrainingResources.definition(),
                                    input: .object(input), stateMachineName: "training")
    }

    /// A stored `deployment` execution of `model` (optionally a version and an endpoint
    /// other than the config's), with its lock held. `name` makes it idempotent: the
    /// approval service names a deployment after the event that asked for it, and an
    /// execution of that name that exists already is returned as it is (lock nil when
    /// another process runs it).
    package func createDeployment(model: String, version: Int? = nil, endpoint: String? = nil,
                                  name: String? = nil) throws -> (ExecutionStore.Stored, ExecutionLock?) {
        var input: [String: JSONValue] = ["model": .string(model)]
        if let version { input["version"] = .int(Int64(version)) }
        if let endpoint { input["endpoint"] = .string(endpoint) }
        if let name, let existing = try? store.open(name) { return (existing, store.lock(existing)) }
        let (stored, lock) = try store.createHeld(name: name ?? Self.newName("deployment", model: model),
                                                  definition: try TrainingResources.definition("deployment"),
                                                  input: .object(input), stateMachineName: "deployment")
        return (stored, lock)
    }

    /// Runs (or resumes) a stored execution to its end in this process, holding its lock
    /// (`lock`, when the caller holds it already, else taken here), with the home's task
    /// tokens and stop requests. An execution another process holds is `ExecutionBusy`.
    /// When the calling task is cancelled the execution stops recording and its outcome
    /// is `RUNNING`: the next agent resumes it.
    package func run(_ stored: ExecutionStore.Stored, lock held: ExecutionLock? = nil,
                     resources: [String: any TaskResource]? = nil) async throws(ExecutionBusy) -> ExecutionOutcome {
        guard let lock = held ?? store.lock(stored) else { throw ExecutionBusy(name: stored.name) }
        defer { withExtendedLifetime(lock) {} }
        let name = stored.name
        let store = self.store
        let engine = Engine(resources: resources ?? self.resources, tokens: FileTaskTokens(folder: home + "/tasks"),
                            stopRequested: { store.stopRequested(name) })
        return await engine.run(stored.machine, input: stored.input, name: stored.name,
                                stateMachineName: stored.stateMachineName, journal: stored.journal)
    }

    /// What a scan of the executions found.
    package struct Scan: Sendable {
        /// RUNNING executions no process held, each with its lock now held by the caller:
        /// what a dead process left, and what the CLI stored for the agent to run.
        package var claimed: [(stored: ExecutionStore.Stored, lock: ExecutionLock)] = []
        /// Executions that have ended, with their journal's size (a redrive grows it).
        package var ended: [String: Int] = [:]
        /// Executions that cannot be read, with why.
        package var unreadable: [String: String] = [:]
    }

    /// Claims every execution its journal says is RUNNING and no process holds, keeping
    /// the lock so that nothing else takes it before it runs. `skip` names what to leave
    /// unread (executions running here, or known to have ended with a journal of that size).
    package func claimUnclaimed(skip: (String) -> Bool = { _ in false }) -> Scan {
        var scan = Scan()
        for name in store.names() where !skip(name) {
            do {
                let stored = try store.open(name)
                guard try store.status(of: stored).status == ExecutionStatus.running.rawValue else {
                    scan.ended[name] = store.journalSize(name)
                    continue
                }
                if let lock = store.lock(stored) { scan.claimed.append((stored, lock)) }
            } catch {
                scan.unreadable[name] = "\(error)"
            }
        }
        return scan
    }
}

extension ExecutionStore {
    /// The size of an execution's journal in bytes (0 when it has none yet).
    package func journalSize(_ name: String) -> Int {
        ((try? FileManager.default.attributesOfItem(atPath: folder + "/" + name + "/journal.jsonl"))?[.size] as? Int) ?? 0
    }
}

/// An execution that another process is running.
package struct ExecutionBusy: Error, Sendable, CustomStringConvertible {
    /// The execution's name.
    package var name: String
    /// Names the busy execution.
    package init(name: String) { self.name = name }
    /// What to tell a person.
    package var description: String {
        "execution '\(name)' is being run by another process (the agent, or a `--wait` command); follow it with `slipway executions describe \(name)`"
    }
}
