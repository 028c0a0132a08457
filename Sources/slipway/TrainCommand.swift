import ArgumentParser
import Foundation
import JSON
import Pipelines
import StatesLanguage

/// `slipway train MODEL [--wait] [--json]`: start the training pipeline by hand.
struct TrainCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train", abstract: "Run the training pipeline on a model's latest build.",
        discussion: "Without --wait it starts the execution in the background and prints its name; follow it with `slipway executions describe NAME`.")
    @Argument(help: "The model.") var model: String
    @Option(help: "Train a built commit (a sha or a prefix of one) instead of the latest build.") var commit: String?
    @Flag(help: "Wait for the execution to end and print its outcome.") var wait = false
    @Flag(help: "Print JSON: the execution's name, and with --wait its status and output.") var json = false
    @OptionGroup var home: HomeOption

    func run() async throws {
        guard wait else {
            let name = try Self.startInBackground(model: model, commit: commit, home: home)
            print(json ? JSONValue.object(["execution": .string(name)]).serialized() : "started \(name); follow it with `slipway executions describe \(name)`")
            return
        }
        let registry = try home.registry()
        let store = ExecutionStore(folder: home.absolutePath + "/executions")
        let stored = try Self.create(model: model, commit: commit, store: store)
        try await ExecutionsCommand.finish(stored, in: store, json: json, resources: TrainingResources(home: home.absolutePath, registry: registry).all)
    }

    static func create(model: String, commit: String? = nil, store: ExecutionStore) throws -> ExecutionStore.Stored {
        let name = "training-\(model)-\(Int(Date().timeIntervalSince1970))-\(UUID().uuidString.prefix(6).lowercased())"
        var input: [String: JSONValue] = ["model": .string(model)]
        if let commit { input["commit"] = .string(commit) }
        return try store.create(name: name, definition: try TrainingResources.definition(), input: .object(input), stateMachineName: "training")
    }

    /// Creates a training execution and runs it to its end in this process.
    static func trainNow(model: String, home: HomeOption, resources: TrainingResources) async throws -> ExecutionOutcome {
        let store = ExecutionStore(folder: home.absolutePath + "/executions")
        return try await ExecutionsCommand.execute(try create(model: model, store: store), in: store, resources: resources.all)
    }

    /// Creates a training execution and runs it in a process of its own; returns its name.
    static func startInBackground(model: String, commit: String? = nil, home: HomeOption) throws -> String {
        let stored = try create(model: model, commit: commit, store: ExecutionStore(folder: home.absolutePath + "/executions"))
        try ExecutionsCommand.runInBackground(stored, home: home)
        return stored.name
    }
}
