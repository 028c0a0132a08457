import ArgumentParser
import Foundation
import JSON
import StatesLanguage

/// `slipway states validate FILE`.
struct StatesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "states", abstract: "Amazon States Language definitions.", subcommands: [Validate.self, Run.self])

    struct Run: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run a definition to its end in this process (task resources: echo, fail, slipway:command).",
            discussion: "The execution is kept in $SLIPWAY_HOME/executions/NAME; if the process dies, `slipway executions resume NAME` finishes it.")
        @Argument(help: "The definition (JSON).") var file: String
        @Option(help: "The execution's input (JSON).") var input = "{}"
        @Option(help: "The execution's name (default: a new UUID).") var name: String?
        @Flag(help: "Print {\"status\", \"output\", \"error\", \"cause\", \"history\"} as JSON.") var json = false
        @OptionGroup var home: HomeOption

        func run() async throws {
            guard let text = try? String(contentsOfFile: file, encoding: .utf8) else {
                throw CommandFailure.notFound("cannot read definition '\(file)'; check the path")
            }
            do { _ = try StateMachine(json: text) } catch {
                throw CommandFailure(message: "\(file): \(error.description)", status: ExitStatus.failure)
            }
            let value = try parseJSON(input, option: "--input")
            let machineName = URL(fileURLWithPath: file).deletingPathExtension().lastPathComponent
            let store = ExecutionStore(folder: home.absolutePath + "/executions")
            let (stored, lock) = try store.createHeld(name: name ?? UUID().uuidString.lowercased(), definition: text, input: value, stateMachineName: machineName)
            try await ExecutionsCommand.finish(stored, lock: lock, json: json, home: home)
        }
    }

    struct Validate: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check a state machine definition; exit 1 with every problem and its JSON pointer.")
        @Argument(help: "The definition (JSON).") var file: String
        @Flag(help: "Print the problems as a JSON array of {pointer, message}.") var json = false

        func run() throws {
            guard let text = try? String(contentsOfFile: file, encoding: .utf8) else {
                throw CommandFailure.notFound("cannot read definition '\(file)'; check the path")
            }
            do {
                let machine = try StateMachine(json: text)
                if json { print("[]") } else { print("\(file) is valid: \(machine.states.count) states, starting at '\(machine.startAt)'") }
            } catch {
                if json {
                    print(JSONValue.array(error.problems.map { ["pointer": .string($0.pointer), "message": .string($0.message)] }).serialized())
                }
                throw CommandFailure(message: "\(file): \(error.description)", status: ExitStatus.failure)
            }
        }
    }
}
