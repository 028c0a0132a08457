import ArgumentParser
import Foundation
import JSON
import Pipelines
import StatesLanguage

/// `slipway train MODEL [--wait] [--json]`: start the training pipeline by hand.
struct TrainCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train", abstract: "Run the training pipeline on a model's latest build.",
        discussion: "Without --wait the running agent runs the execution and this prints its name (with no agent running, it runs here); follow it with `slipway logs NAME --follow`.")
    @Argument(help: "The model.") var model: String
    @Option(help: "Train a built commit (a sha or a prefix of one) instead of the latest build.") var commit: String?
    @Flag(help: "Wait for the execution to end and print its outcome.") var wait = false
    @Flag(help: "Print JSON: the execution's name, and with --wait its status and output.") var json = false
    @OptionGroup var home: HomeOption

    func run() async throws {
        let (stored, lock) = try PipelineExecutions(home: home.absolutePath, registry: try home.registry(), logger: CLILog.warnings).createTraining(model: model, commit: commit)
        if wait {
            try await ExecutionsCommand.finish(stored, lock: lock, json: json, home: home)
        } else {
            try await ExecutionsCommand.handOver(stored, lock: lock, json: json, home: home)
        }
    }
}
