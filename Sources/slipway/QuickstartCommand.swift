import ArgumentParser
import Foundation
import JSON
import Pipelines
import Serving

/// `slipway quickstart`: from nothing to a served price, on the embedded defaults. It does
/// what a user would do, by running `git` and this `slipway`, and says what it does.
struct QuickstartCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "quickstart",
        abstract: "Create a home, push the price-optimiser fixtures, train, approve, deploy, and ask for a price.",
        discussion: "The agent it starts keeps running in the background, so that you can push changes and watch them build, train and deploy.")
    @Option(help: "The fixtures folder (default: fixtures/price-optimiser of this checkout).") var fixtures: String?
    @Option(help: "The port endpoints are served on (0 picks a free one).") var port = 8080
    @OptionGroup var home: HomeOption

    static let models = ["demand", "elasticity"]
    static let repositories = ["demand", "elasticity", "optimiser"]

    func run() async throws {
        let source = try fixtures ?? Self.findFixtures()
        let root = home.absolutePath
        let slipway = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        let step = Steps(slipway: slipway, home: root)
        let started = Date()

        step.say("Slipway's home is \(root) (every record in it is a plain file: try `ls \(root)/registry/tables`)")
        for repository in Self.repositories {
            let bare = "\(root)/repos/\(repository).git", work = "\(root)/work/\(repository)"
            guard !FileManager.default.fileExists(atPath: bare) else {
                step.say("\(bare) exists already; pushing nothing new to it")
                continue
            }
            step.say("creating \(bare) with Slipway's post-receive hook, and a clone in \(work)")
            try await step.sh("""
                set -e
                mkdir -p '\(root)/repos' '\(root)/work'
                git init -q --bare -b main '\(bare)'
                '\(slipway)' hook install '\(bare)' --home '\(root)' >/dev/null
                git clone -q '\(bare)' '\(work)' 2>/dev/null
                cp -R '\(source)/\(repository)/.' '\(work)/'
                cd '\(work)' && git checkout -q -b main 2>/dev/null || true
                git add . && git -c user.name=Quickstart -c user.email=quickstart@localhost commit -q -m 'the \(repository) repository'
                git push -q origin main
                """)
        }

        if ServingMarker.read(home: root) != nil {
            step.say("an agent already serves this home; using it")
        } else {
            step.say("starting the agent in the background: it builds each push, trains, deploys and serves on port \(port == 0 ? "(a free one)" : String(port))")
            try await step.startAgent(port: port)
        }
        let address = try await step.waitForServing()
        step.say("the agent serves endpoints on http://\(address)")

        for model in Self.models {
            step.say("waiting for \(model): build, then training (preprocess, train, evaluate, gates)")
            let version = try await step.waitForVersion(model)
            step.say("\(model) version \(version["version"]?.intValue ?? 0) is \(version["status"]?.stringValue ?? "?"): \(Steps.metrics(version))")
            if version["status"] == .string(ModelVersions.Status.pendingManualApproval.rawValue) {
                let number = version["version"]?.intValue ?? 0
                step.say("approving it for you; by hand: slipway approve \(model) \(number) --note 'metrics look right'")
                try await step.slipway(["approve", model, "\(number)", "--note", "approved by slipway quickstart"])
            }
        }
        try await step.waitForBuild("price-optimiser")
        for model in Self.models + ["price-optimiser"] {
            step.say("deploying \(model) (the deployment pipeline: slipway deploy \(model) --wait)")
            try await step.slipway(["deploy", model, "--wait"])
        }

        let request = try Self.exampleRequest(fixtures: source)
        step.say("asking for a price: slipway endpoints invoke price-optimiser --body '\(request.serialized())'")
        let answer = try await step.slipway(["endpoints", "invoke", "price-optimiser", "--body", request.serialized()], quiet: true)
        let priced = (try? JSONValue(parsing: answer.trimmingCharacters(in: .whitespacesAndNewlines))) ?? .null
        print(priced == .null ? answer : priced.serialized(pretty: true))
        step.say(String(format: "done in %.0f s.", Date().timeIntervalSince(started)))
        print("""

            What to try next (the agent keeps running; stop it with `kill \(ServingMarker.read(home: root)?.pid ?? 0)`):
              cd \(root)/work/demand && sed -i 's/ridge: .*/ridge: 0.5/' slipway.yaml && git commit -qam 'more ridge' && git push
              slipway builds list demand                 # the push was built
              slipway executions list                    # and trained: slipway logs EXECUTION --follow
              slipway versions list demand               # a new version awaits approval
              slipway approve demand 2 && slipway deploy demand --wait
              slipway endpoints invoke price-optimiser --body '\(request.serialized())'
                                                         # the price now names demand version 2
              slipway rollback demand --wait             # back to version 1, without retraining
            (use --home \(root) or export SLIPWAY_HOME=\(root))
            """)
    }

    /// `fixtures/price-optimiser` of the checkout this binary was built in, or of the
    /// current folder.
    static func findFixtures() throws -> String {
        let executable = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        var folders = [FileManager.default.currentDirectoryPath]
        var url = URL(fileURLWithPath: executable).deletingLastPathComponent()
        for _ in 0..<5 {
            folders.append(url.path)
            url.deleteLastPathComponent()
        }
        for folder in folders where FileManager.default.fileExists(atPath: folder + "/fixtures/price-optimiser/demand/slipway.yaml") {
            return folder + "/fixtures/price-optimiser"
        }
        throw CommandFailure(message: "cannot find fixtures/price-optimiser; run from Slipway's checkout or pass --fixtures DIR", status: ExitStatus.usage)
    }

    /// A request for the first product of the fixtures' ground truth, at its cost hint.
    static func exampleRequest(fixtures: String) throws -> JSONValue {
        let truth = FileManager.default.contents(atPath: fixtures + "/truth.json").flatMap { try? JSONValue(parsing: Array($0)) }
        let products = truth?["products"]?.objectValue ?? truth?.objectValue ?? [:]
        guard let (product, facts) = products.sorted(by: { $0.key < $1.key }).first else { return ["product": "P01", "cost": 4.0, "week": 23] }
        return ["product": .string(product), "cost": facts["unit_cost_hint"] ?? 4.0, "week": 23]
    }
}
