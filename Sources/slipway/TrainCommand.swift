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
    @Flag(help: "Wait for the execution to end and print its outcome.") var wait = false
    @Flag(help: "Print JSON: the execution's name, and with --wait its status and output.") var json = false
    @OptionGroup var home: HomeOption

    func run() async throws {
        let registry = try home.registry()
        let store = ExecutionStore(folder: home.absolutePath + "/executions")
        let name = "training-\(model)-\(Int(Date().timeIntervalSince1970))-\(UUID().uuidString.prefix(6).lowercased())"
        let stored = try store.create(name: name, definition: try TrainingResources.definition(), input: ["model": .string(model)],
                                      stateMachineName: "training")
        guard wait else {
            // A process of its own (a new session), so it outlives this command.
            let executable = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
            let runner = Process()
            runner.executableURL = URL(fileURLWithPath: "/usr/bin/setsid")
            runner.arguments = [executable, "executions", "resume", name, "--home", home.absolutePath]
            runner.standardInput = FileHandle.nullDevice
            runner.standardOutput = FileHandle.nullDevice
            runner.standardError = FileHandle.nullDevice
            do { try runner.run() } catch {
                throw CommandFailure(message: "cannot start the execution: \(error)", status: ExitStatus.failure)
            }
            print(json ? JSONValue.object(["execution": .string(name)]).serialized() : "started \(name); follow it with `slipway executions describe \(name)`")
            return
        }
        try await ExecutionsCommand.finish(stored, in: store, json: json, resources: TrainingResources(home: home.absolutePath, registry: registry).all)
    }
}
