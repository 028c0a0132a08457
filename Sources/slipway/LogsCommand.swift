import ArgumentParser
import Foundation
import JSON
import StatesLanguage

/// `slipway logs EXECUTION [--state NAME]`: the output of an execution's jobs.
struct LogsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "logs", abstract: "Show what an execution's jobs printed (a failed job's last lines are in its error cause).")
    @Argument(help: "The execution's name.") var execution: String
    @Option(help: "Only this state (Preprocess, Train, Evaluate...).") var state: String?
    @OptionGroup var home: HomeOption

    func run() throws {
        let (store, stored) = try ExecutionsCommand.open(execution, home: home)
        var current = ""
        var shown = 0
        for event in try store.status(of: stored).history {
            if event.type.hasSuffix("StateEntered"), let name = event.details?["name"]?.stringValue { current = name }
            guard state == nil || state == current else { continue }
            if event.type == "TaskSucceeded", let text = event.details?["output"]?.stringValue, let output = try? JSONValue(parsing: text),
                let log = output["log"]?.stringValue {
                let note = output["cache"]?.stringValue.map { $0 == "miss" ? "" : " (\($0))" } ?? ""
                print("==> \(current)\(note): \(log)")
                print((try? String(contentsOfFile: log, encoding: .utf8)) ?? "(the log is gone)", terminator: "")
                shown += 1
            } else if event.type == "TaskFailed", let cause = event.details?["cause"]?.stringValue {
                print("==> \(current) failed: \(event.details?["error"]?.stringValue ?? "")\n\(cause)")
                shown += 1
            }
        }
        if shown == 0 { print("no job output\(state.map { " for state '\($0)'" } ?? "") in '\(execution)' yet") }
    }
}
