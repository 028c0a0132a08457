import Foundation
import Home
import JSON
import Logging
import Pipelines
import Registry
import Serving
import StatesLanguage

/// From nothing to a served price on the embedded defaults: create the home's bare
/// repositories with Slipway's hook, push the price-optimiser fixtures, start the agent,
/// wait for it to build and train, approve, deploy, and ask the composite for a price.
/// It does what a user would do (git pushes, the agent in the background) and reports
/// each step as a `QuickstartEvent`.
package struct Quickstart: Sendable {
    /// The models the fixtures train (the composite, `price-optimiser`, only builds).
    package static let models = ["demand", "elasticity"]
    /// The fixtures' repositories, pushed in this order.
    package static let repositories = ["demand", "elasticity", "optimiser"]
    /// The composite endpoint the quickstart asks for a price.
    package static let composite = "price-optimiser"

    /// The home, an absolute path.
    package var home: String
    /// Its registry.
    package var registry: Registry
    /// The fixtures folder: one folder per repository, and `truth.json`.
    package var fixtures: String
    /// The `slipway` executable the hook names and the agent runs as.
    package var executable: String
    /// The port the agent serves endpoints on (0: a free one).
    package var port: Int
    /// How long to wait, and how often to look.
    package var timings = Timings()
    /// How endpoint requests reach the agent.
    package var transport: any HTTPTransport = HTTPClientTransport()
    /// Where the deployments it runs log (a notification not delivered, say).
    package var logger: Logger

    /// How long each wait lasts and how often it looks again.
    package struct Timings: Sendable {
        /// Time between two looks at what the agent did.
        package var poll: Duration = .milliseconds(500)
        /// Time between two looks for the agent's serving marker.
        package var servingPoll: Duration = .milliseconds(100)
        /// How long the agent may take to start serving.
        package var serving: Duration = .seconds(30)
        /// How long a build, or a training, may take.
        package var work: Duration = .seconds(600)

        /// The defaults: start within 30 s, build and train within 10 minutes each.
        package init() {}
    }

    /// A quickstart of `home` (absolute) with its `registry`, pushing `fixtures`, naming
    /// `executable` in the hook and starting it as the agent on `port`, logging to `logger`.
    package init(home: String, registry: Registry, fixtures: String, executable: String, port: Int, logger: Logger) {
        self.home = home
        self.registry = registry
        self.fixtures = fixtures
        self.executable = executable
        self.port = port
        self.logger = logger
    }

    /// What the quickstart ends with.
    package struct Result: Sendable {
        /// Where the agent serves, `host:port`.
        package var address: String
        /// The request it sent to the composite.
        package var request: JSONValue
        /// The composite's answer, as text.
        package var answer: String
    }

    /// Runs every step, reporting each to `progress`; throws `QuickstartError` when a step
    /// fails (with what to look at), or the registry's error.
    package func run(progress: (QuickstartEvent) -> Void) async throws -> Result {
        progress(.home(home))
        for repository in Self.repositories {
            try await pushFixture(repository, progress: progress)
        }
        if ServingMarker.read(home: home) != nil {
            progress(.agentAlreadyServing)
        } else {
            progress(.startingAgent(port: port))
            try await startAgent()
        }
        let address = try await waitForServing()
        progress(.serving(address: address))

        for model in Self.models {
            progress(.waitingForModel(model))
            try await waitForBuild(model)
            progress(.built(model: model))
            let version = try await waitForVersion(model)
            let number = Int(version["version"]?.intValue ?? 0)
            progress(.trained(model: model, version: number, status: version["status"]?.stringValue ?? "?", metrics: Self.metrics(version)))
            if version["status"] == .string(ModelVersions.Status.pendingManualApproval.rawValue) {
                progress(.approving(model: model, version: number))
                try approve(model, number)
                progress(.approved(model: model, version: number))
            }
        }
        try await waitForBuild(Self.composite)
        for model in Self.models + [Self.composite] {
            progress(.deploying(model: model))
            let report = try await deploy(model)
            progress(.deployed(model: model, lines: report.lines))
        }

        let request = Self.exampleRequest(fixtures: fixtures)
        progress(.askingForPrice(body: request.serialized()))
        let answer: String
        do {
            answer = try await EndpointClient(home: home, transport: transport).invoke(Self.composite, body: Array(request.serialized().utf8))
        } catch {
            throw QuickstartError("asking \(Self.composite) for a price failed: \(error)", hint: "see `slipway endpoints describe \(Self.composite)`")
        }
        return Result(address: address, request: request, answer: answer)
    }

    /// Approves `version` of `model`, noting that the quickstart did.
    func approve(_ model: String, _ version: Int) throws {
        _ = try ModelVersions(registry: registry).decide(model, version, .approved, note: "approved by slipway quickstart", by: LocalUser.name)
    }

    /// Runs `model`'s deployment pipeline to its end here (the agent carries out the
    /// endpoint update); a deployment that does not succeed is an error.
    func deploy(_ model: String) async throws -> DeploymentReport {
        let executions = PipelineExecutions(home: home, registry: registry, logger: logger)
        let (stored, lock) = try executions.createDeployment(model: model)
        let outcome: ExecutionOutcome
        do { outcome = try await executions.run(stored, lock: lock) } catch {
            throw QuickstartError("cannot deploy \(model): \(error)", hint: "wait for `slipway executions list` to show it ended")
        }
        let report = Deployments(home: home, registry: registry).report(execution: stored.name, outcome: outcome, endpoint: nil)
        guard report.succeeded else {
            throw QuickstartError("deploying \(model) ended \(outcome.status): \(report.lines.joined(separator: "\n"))",
                                  hint: "see `slipway executions describe \(stored.name)`")
        }
        return report
    }

    /// A version's metrics in one line: `family.name = value, ...`, sorted.
    package static func metrics(_ version: JSONValue) -> String {
        var parts: [String] = []
        for (family, values) in (version["metrics"]?.objectValue ?? [:]).sorted(by: { $0.key < $1.key }) {
            for (name, value) in (values.objectValue ?? [:]).sorted(by: { $0.key < $1.key }) {
                if let number = value["value"]?.doubleValue { parts.append("\(family).\(name) = \(String(format: "%.4g", number))") }
            }
        }
        return parts.isEmpty ? "no metrics" : parts.joined(separator: ", ")
    }

    /// A request for the first product of the fixtures' ground truth (`truth.json`, a map
    /// of products, or one under `products`) at its cost hint, in week 23; product P01 at
    /// cost 4 without one.
    package static func exampleRequest(fixtures: String) -> JSONValue {
        let truth = FileManager.default.contents(atPath: fixtures + "/truth.json").flatMap { try? JSONValue(parsing: Array($0)) }
        let products = truth?["products"]?.objectValue ?? truth?.objectValue ?? [:]
        guard let (product, facts) = products.sorted(by: { $0.key < $1.key }).first else { return ["product": "P01", "cost": 4.0, "week": 23] }
        return ["product": .string(product), "cost": facts["unit_cost_hint"] ?? 4.0, "week": 23]
    }

    /// `fixtures/price-optimiser` of the first of `folders` that holds it (the current
    /// folder, the executable's and its parents, say), or nil.
    package static func findFixtures(in folders: [String]) -> String? {
        folders.first { FileManager.default.fileExists(atPath: $0 + "/fixtures/price-optimiser/demand/slipway.yaml") }
            .map { $0 + "/fixtures/price-optimiser" }
    }

    /// `folder` and up to `count` of its parents, nearest first.
    package static func folderAndParents(of path: String, count: Int = 4) -> [String] {
        var url = URL(fileURLWithPath: path)
        var folders: [String] = []
        for _ in 0...count {
            folders.append(url.path)
            url.deleteLastPathComponent()
        }
        return folders
    }
}

/// A quickstart step that failed: what failed and what to look at.
package struct QuickstartError: Error, Sendable, CustomStringConvertible {
    /// What failed, with the offending value.
    package var message: String
    /// What to do or where to look.
    package var hint: String

    /// A failure `message` with a `hint`.
    package init(_ message: String, hint: String) {
        self.message = message
        self.hint = hint
    }

    /// `message; hint`.
    package var description: String { "\(message); \(hint)" }
}
