import ArgumentParser
import Foundation
import JSON
import Pipelines
import Serving
import StatesLanguage

/// `slipway deploy MODEL [--version N] [--endpoint NAME] [--wait] [--json]`.
struct DeployCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "deploy", abstract: "Run the deployment pipeline: serve an Approved version of a model on an endpoint.",
        discussion: "Without --wait it starts the execution in the background and prints its name. The agent (`slipway agent`) carries out the update.")
    @Argument(help: "The model.") var model: String
    @Option(help: "The version (default: the newest Approved).") var version: Int?
    @Option(help: "The endpoint (default: the config's deploy.endpoint, else the model's name).") var endpoint: String?
    @Flag(help: "Wait for the deployment to end and print its outcome.") var wait = false
    @Flag(help: "Print JSON: the execution, and with --wait its status and the endpoint's state.") var json = false
    @OptionGroup var home: HomeOption

    func run() async throws {
        try await Self.deploy(model: model, version: version, endpoint: endpoint, wait: wait, json: json, home: home)
    }

    static func deploy(model: String, version: Int?, endpoint: String?, wait: Bool, json: Bool, home: HomeOption) async throws {
        let registry = try home.registry()
        let executions = PipelineExecutions(home: home.absolutePath, registry: registry, logger: CLILog.warnings)
        let (stored, lock) = try executions.createDeployment(model: model, version: version, endpoint: endpoint)
        guard wait else {
            guard let lock else { throw CommandFailure(message: ExecutionBusy(name: stored.name).description, status: ExitStatus.failure) }
            return try await ExecutionsCommand.handOver(stored, lock: lock, json: json, home: home)
        }
        let outcome: ExecutionOutcome
        do { outcome = try await executions.runInForeground(stored, lock: lock, interrupt: Interrupts.first) } catch {
            throw CommandFailure(message: "\(error)", status: ExitStatus.failure)
        }
        let report = Deployments(home: home.absolutePath, registry: registry).report(execution: stored.name, outcome: outcome, endpoint: endpoint)
        if json { print(report.json.serialized()) } else { report.lines.forEach { print($0) } }
        if !report.succeeded { throw ExitCode(1) }
    }
}

/// `slipway rollback ENDPOINT`: deploy the version the endpoint served before.
struct RollbackCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rollback", abstract: "Redeploy the version an endpoint served before its current one (no retraining).")
    @Argument(help: "The endpoint.") var endpoint: String
    @Flag(help: "Wait for the deployment to end and print its outcome.") var wait = false
    @Flag(help: "Print JSON (see `slipway deploy`).") var json = false
    @OptionGroup var home: HomeOption

    func run() async throws {
        let target: (model: String, version: Int)
        do {
            target = try Deployments(home: home.absolutePath, registry: try home.registry()).rollbackTarget(endpoint: endpoint)
        } catch let error as DeploymentError {
            throw CommandFailure(message: error.description, status: ExitStatus.failure)
        }
        if !json { print("rolling '\(endpoint)' back to \(target.model) version \(target.version)") }
        try await DeployCommand.deploy(model: target.model, version: target.version, endpoint: endpoint, wait: wait, json: json, home: home)
    }
}
