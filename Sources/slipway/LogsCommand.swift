import ArgumentParser
import Foundation
import Pipelines
import StatesLanguage

/// `slipway logs EXECUTION [--state NAME] [--follow]`: the output of an execution's jobs.
struct LogsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "logs", abstract: "Show what an execution's jobs printed (a failed job's last lines are in its error cause).")
    @Argument(help: "The execution's name.") var execution: String
    @Option(help: "Only this state (Preprocess, Train, Evaluate...).") var state: String?
    @Flag(name: .shortAndLong, help: "Keep printing a running job's output until the execution ends.") var follow = false
    @OptionGroup var home: HomeOption

    func run() async throws {
        let (store, stored) = try ExecutionsCommand.open(execution, home: home)
        var logs = JobLogs(home: home.absolutePath, execution: stored.name, state: state)
        while true {
            let (status, history) = try store.status(of: stored)
            let text = logs.next(history: history)
            if !text.isEmpty {
                FileHandle.standardOutput.write(Data(text.utf8))
            }
            guard follow, status == ExecutionStatus.running.rawValue else { break }
            try await Task.sleep(for: .milliseconds(300))
        }
        if !logs.shownAny { print("no job output\(state.map { " for state '\($0)'" } ?? "") in '\(execution)' yet") }
    }
}
