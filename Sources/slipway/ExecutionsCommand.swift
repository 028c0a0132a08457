import ArgumentParser
import Foundation
import JSON
import Pipelines
import StatesLanguage

/// `slipway executions list|describe|history|resume`.
struct ExecutionsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "executions", abstract: "State machine executions kept in the home.",
        subcommands: [List.self, Describe.self, History.self, Resume.self, Stop.self, Redrive.self])

    /// Runs (or resumes) a stored execution to its end, holding its lock, with the home's
    /// task tokens and stop requests.
    static func execute(_ stored: ExecutionStore.Stored, in store: ExecutionStore,
                        resources: [String: any TaskResource]) async throws -> ExecutionOutcome {
        guard let lock = store.lock(stored) else {
            throw CommandFailure(message: "execution '\(stored.name)' is being run by another process", status: ExitStatus.failure)
        }
        defer { withExtendedLifetime(lock) {} }
        let name = stored.name
        let tokens = FileTaskTokens(folder: (store.folder as NSString).deletingLastPathComponent + "/tasks")
        let engine = Engine(resources: resources, tokens: tokens, stopRequested: { store.stopRequested(name) })
        return await engine.run(stored.machine, input: stored.input, name: stored.name,
                                stateMachineName: stored.stateMachineName, journal: stored.journal)
    }

    /// Runs (or resumes) a stored execution to its end and prints the outcome; exit 1 unless it succeeded.
    static func finish(_ stored: ExecutionStore.Stored, in store: ExecutionStore, json: Bool,
                       resources: [String: any TaskResource]) async throws {
        let outcome = try await execute(stored, in: store, resources: resources)
        if json {
            print(outcome.json.serialized())
        } else {
            print("\(stored.name): \(outcome.status)")
            if let output = outcome.output { print(output.serialized(pretty: true)) }
            if let error = outcome.error { print("\(error.error): \(error.cause)") }
        }
        if outcome.status != "SUCCEEDED" { throw ExitCode(1) }
    }

    /// Runs a stored execution in a process of its own (a new session, so it outlives this one).
    static func runInBackground(_ stored: ExecutionStore.Stored, home: HomeOption) throws {
        let executable = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        let runner = Process()
        runner.executableURL = URL(fileURLWithPath: "/usr/bin/setsid")
        runner.arguments = [executable, "executions", "resume", stored.name, "--home", home.absolutePath]
        runner.standardInput = FileHandle.nullDevice
        runner.standardOutput = FileHandle.nullDevice
        runner.standardError = FileHandle.nullDevice
        do { try runner.run() } catch {
            throw CommandFailure(message: "cannot start the execution: \(error)", status: ExitStatus.failure)
        }
    }

    /// Every task resource an execution of this home may call: the built-ins and the pipelines'.
    static func resources(_ home: HomeOption) throws -> [String: any TaskResource] {
        TrainingResources(home: home.absolutePath, registry: try home.registry()).all
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
            let store = ExecutionStore(folder: home.absolutePath + "/executions")
            var rows: [JSONValue] = []
            for name in store.names() {
                guard let stored = try? store.open(name), let (status, _) = try? store.status(of: stored) else { continue }
                rows.append(["name": .string(name), "status": .string(status), "stateMachine": .string(stored.stateMachineName)])
            }
            if json { print(JSONValue.array(rows).serialized()) } else {
                for row in rows { print("\(row["name"]!.stringValue!)\t\(row["status"]!.stringValue!)\t\(row["stateMachine"]!.stringValue!)") }
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
            let (status, history) = try store.status(of: stored)
            var value: [String: JSONValue] = ["name": .string(name), "status": .string(status), "input": stored.input,
                                              "stateMachine": .string(stored.stateMachineName)]
            if let last = history.last, status != "RUNNING" {
                if let output = last.details?["output"]?.stringValue { value["output"] = (try? JSONValue(parsing: output)) ?? .string(output) }
                if let error = last.details?["error"] { value["error"] = error }
                if let cause = last.details?["cause"] { value["cause"] = cause }
            }
            print(json ? JSONValue.object(value).serialized() : JSONValue.object(value).serialized(pretty: true))
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
            let (store, stored) = try ExecutionsCommand.open(name, home: home)
            try await ExecutionsCommand.finish(stored, in: store, json: json, resources: try ExecutionsCommand.resources(home))
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
            do { try store.redrive(stored) } catch {
                throw CommandFailure(message: "\(error)", status: ExitStatus.conditionFailed)
            }
            try await ExecutionsCommand.finish(stored, in: store, json: json, resources: try ExecutionsCommand.resources(home))
        }
    }
}
