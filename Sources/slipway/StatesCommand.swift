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
            abstract: "Run a definition to its end in this process, with the built-in task resources (echo, fail).")
        @Argument(help: "The definition (JSON).") var file: String
        @Option(help: "The execution's input (JSON).") var input = "{}"
        @Flag(help: "Print {\"status\", \"output\", \"error\", \"cause\", \"history\"} as JSON.") var json = false

        func run() async throws {
            guard let text = try? String(contentsOfFile: file, encoding: .utf8) else {
                throw CommandFailure.notFound("cannot read definition '\(file)'; check the path")
            }
            let machine: StateMachine
            do { machine = try StateMachine(json: text) } catch {
                throw CommandFailure(message: "\(file): \(error.description)", status: ExitStatus.failure)
            }
            let value = try parseJSON(input, option: "--input")
            let name = URL(fileURLWithPath: file).deletingPathExtension().lastPathComponent
            let outcome = await Engine(resources: BuiltInResources.all).run(machine, input: value, stateMachineName: name)
            if json {
                print(outcome.json.serialized())
            } else {
                print(outcome.status)
                if let output = outcome.output { print(output.serialized(pretty: true)) }
                if let error = outcome.error { print("\(error.error): \(error.cause)") }
            }
            if outcome.status != "SUCCEEDED" { throw ExitCode(1) }
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
