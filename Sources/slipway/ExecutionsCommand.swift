import ArtifactBuilder
import ArgumentParser
import Foundation
import Home
import JSON
import Pipelines
import StatesLanguage

/// `slipway executions list|describe|history|resume`.
struct ExecutionsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "executions", abstract: "State machine executions kept in the home.",
        subcommands: [List.self, Describe.self, History.self, Resume.self, Stop.self, Redrive.self])

    /// Runs (or resumes) a stored execution to its end in this process and prints the
    /// outcome; exit 1 unless it succeeded.
    static func finish(_ stored: ExecutionStore.Stored, lock: ExecutionLock? = nil, json: Bool, home: HomeOption) async throws {
        let outcome: ExecutionOutcome
        do {
            let executions = PipelineExecutions(home: home.absolutePath, registry: try home.registry(), logger: CLILog.warnings)
            outcome = try await executions.runInForeground(stored, lock: lock, interrupt: Interrupts.first)
        } catch let error as ExecutionBusy {
            throw CommandFailure(message: error.description, status: ExitStatus.failure)
        }
        if json {
            print(outcome.json(execution: stored.name).serialized())
        } else {
            print("\(stored.name): \(outcome.status)")
            if let output = outcome.output { print(output.serialized(pretty: true)) }
            if let error = outcome.error { print("\(error.error): \(error.cause)") }
        }
        if outcome.status != ExecutionStatus.succeeded.rawValue { throw ExitCode(1) }
    }

    /// Leaves a stored execution to the running agent and says so; without an agent, runs
    /// it here to its end.
    static func handOver(_ stored: ExecutionStore.Stored, lock: ExecutionLock, json: Bool, home: HomeOption) async throws {
        guard PipelineExecutions.agentRuns(home: home.absolutePath) else {
            if !json { print("no agent is running for \(home.absolutePath); running \(stored.name) here") }
            return try await finish(stored, lock: lock, json: json, home: home)
        }
        withExtendedLifetime(lock) {}  // released: the agent claims it
        print(json ? JSONValue.object(["execution": .string(stored.name)]).serialized()
              : "started \(stored.name); the agent runs it. Follow it with `slipway logs \(stored.name) --follow`")
    }

    static func open(_ name: String, home: HomeOption) throws -> (ExecutionStore, ExecutionStore.Stored) {
        let store = ExecutionStore(folder: home.absolutePath + "/executions")
        do {
            return (store, try store.open(name))
        } catch {
            throw CommandFailure.notFound("\(error)")
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Every execution with its status.")
        @Flag(help: "Print a JSON array of {name, status, stateMachine}.") var json = false
        @OptionGroup var home: HomeOption

        func run() throws {
            let (summaries, unreadable) = ExecutionStore(folder: home.absolutePath + "/executions").read()
            if json { print(JSONValue.array(summaries.map(\.json)).serialized()) } else {
                printRows(summaries.map { [$0.name, $0.status, $0.stateMachine] })
            }
            guard unreadable.isEmpty else {
                throw CommandFailure(
                    message: "\(unreadable.count) execution\(unreadable.count == 1 ? "" : "s") cannot be read: "
                        + unreadable.map { "'\($0.path)' (\($0.reason))" }.joined(separator: ", ")
                        + "; restore the folder's definition.json and execution.json from a backup, or move it out of the executions folder",
                    status: ExitStatus.failure)
            }
        }
    }

    struct Describe: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "An execution's status, input and output or error.")
        @Argument(help: "The execution's name.") var name: String
        @Flag(help: "Print as JSON.") var json = false
        @OptionGroup var home: HomeOption

        func run() throws {
            let (store, stored) = try ExecutionsCommand.open(name, home: home)
            printJSON(try store.description(of: stored), compact: json)
        }
    }

    struct History: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "An execution's events, as Step Functions' GetExecutionHistory lists them.")
        @Argument(help: "The execution's name.") var name: String
        @Flag(help: "Print a JSON array of events.") var json = false
        @OptionGroup var home: HomeOption

        func run() throws {
            let (store, stored) = try ExecutionsCommand.open(name, home: home)
            let history = try store.status(of: stored).history
            if json { print(JSONValue.array(history.map(\.json)).serialized()) } else {
                for event in history { print("\(event.id)\t\(ISO8601Timestamp.format(event.timestamp))\t\(event.type)\t\(event.details?.serialized() ?? "")") }
            }
        }
    }

    struct Resume: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Finish an execution whose process died: states and tasks that completed are not run again.")
        @Argument(help: "The execution's name.") var name: String
        @Flag(help: "Print the outcome as JSON.") var json = false
        @OptionGroup var home: HomeOption

        func run() async throws {
            let (_, stored) = try ExecutionsCommand.open(name, home: home)
            try await ExecutionsCommand.finish(stored, json: json, home: home)
        }
    }

    struct Stop: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Stop a running execution (it ends ABORTED).")
        @Argument(help: "The execution's name.") var name: String
        @OptionGroup var home: HomeOption

        func run() throws {
            let (store, stored) = try ExecutionsCommand.open(name, home: home)
            guard try store.stop(stored) else {
                throw CommandFailure(message: "execution '\(name)' has already ended; nothing to stop", status: ExitStatus.conditionFailed)
            }
            print("stopping '\(name)'")
        }
    }

    struct Redrive: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run a failed execution again from the state that failed, reusing every state and task that succeeded.")
        @Argument(help: "The execution's name.") var name: String
        @Flag(help: "Print the outcome as JSON.") var json = false
        @OptionGroup var home: HomeOption

        func run() async throws {
            let (store, stored) = try ExecutionsCommand.open(name, home: home)
            guard let lock = store.lock(stored) else { throw CommandFailure(message: ExecutionBusy(name: name).description, status: ExitStatus.failure) }
            do { try store.redrive(stored) } catch {
                throw CommandFailure(message: "\(error)", status: ExitStatus.conditionFailed)
            }
            try await ExecutionsCommand.handOver(stored, lock: lock, json: json, home: home)
        }
    }
}
