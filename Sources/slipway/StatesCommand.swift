import ArgumentParser
import Foundation
import JSON
import StatesLanguage

/// `slipway states validate FILE`.
struct StatesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "states", abstract: "Amazon States Language definitions.", subcommands: [Validate.self])

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
