import ArgumentParser
import Foundation
import JSON
import StatesLanguage

/// `slipway tasks succeed|fail|heartbeat TOKEN`: answer a `.waitForTaskToken` task.
struct TasksCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tasks", abstract: "Complete, fail or heartbeat tasks that wait for a task token.",
        subcommands: [Succeed.self, Fail.self, Heartbeat.self])

    static func tokens(_ home: HomeOption) -> FileTaskTokens { FileTaskTokens(folder: home.absolutePath + "/tasks") }

    struct Succeed: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Complete a task with an output (SendTaskSuccess).")
        @Argument(help: "The task token ($$.Task.Token).") var token: String
        @Option(help: "The task's output (JSON).") var output = "{}"
        @OptionGroup var home: HomeOption

        func run() throws {
            try TasksCommand.tokens(home).succeed(token, output: try parseJSON(output, option: "--output"))
            print("completed task \(token.prefix(12))")
        }
    }

    struct Fail: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Fail a task with an error and a cause (SendTaskFailure).")
        @Argument(help: "The task token.") var token: String
        @Option(help: "The error name Retry and Catch see.") var error = "States.TaskFailed"
        @Option(help: "A human-readable cause.") var cause = ""
        @OptionGroup var home: HomeOption

        func run() throws {
            try TasksCommand.tokens(home).fail(token, error: error, cause: cause)
            print("failed task \(token.prefix(12)) with \(error)")
        }
    }

    struct Heartbeat: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Tell a task with HeartbeatSeconds that its work goes on (SendTaskHeartbeat).")
        @Argument(help: "The task token.") var token: String
        @OptionGroup var home: HomeOption

        func run() throws {
            try TasksCommand.tokens(home).heartbeat(token)
            print("heartbeat for task \(token.prefix(12))")
        }
    }
}
