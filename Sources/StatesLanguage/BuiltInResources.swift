import Foundation
import Home
import JSON

/// Task resources every engine has, for tests and simple pipelines.
package enum BuiltInResources {
    /// `slipway:echo` (also `echo`): returns its input.
    package struct Echo: TaskResource {
        package init() {}
        package func invoke(_ request: TaskRequest) async throws(StatesError) -> JSONValue { request.input }
    }

    /// `slipway:fail` (also `fail`): fails with the input's `Error` and `Cause`
    /// (default `States.TaskFailed`).
    package struct Fail: TaskResource {
        package init() {}
        package func invoke(_ request: TaskRequest) async throws(StatesError) -> JSONValue {
            throw StatesError(request.input["Error"]?.stringValue ?? "States.TaskFailed", request.input["Cause"]?.stringValue ?? "failed on purpose")
        }
    }

    /// `slipway:command`: runs `Command` (an array: the program, found on PATH unless it is
    /// a path, and its arguments) with `Input` (any JSON, optional) on standard input; the
    /// result is `{"ExitCode": 0, "Output": "..."}` (the last 64 KiB of standard output and
    /// error), and a non-zero exit is the error `Command.Failed`. The command sees the
    /// engine's environment; a task timeout ends its whole process group.
    package struct RunCommand: TaskResource {
        package init() {}
        package func invoke(_ request: TaskRequest) async throws(StatesError) -> JSONValue {
            guard let command = request.input["Command"]?.arrayValue?.compactMap(\.stringValue), let program = command.first else {
                throw StatesError("States.TaskFailed", "slipway:command needs Parameters {\"Command\": [\"program\", \"arg\", ...]}")
            }
            guard let executable = Processes.which(program) else {
                throw StatesError("States.TaskFailed", "cannot run '\(program)': not found on PATH; give its full path or install it")
            }
            let input = FileManager.default.temporaryDirectory.appendingPathComponent("slipway-command-\(UUID().uuidString)").path
            defer { try? FileManager.default.removeItem(atPath: input) }
            let result: ProcessResult
            do {
                try Data((request.input["Input"]?.serializedBytes() ?? [])).write(to: URL(fileURLWithPath: input))
                let spec = ProcessSpec(executable, Array(command.dropFirst()), environment: ProcessSpec.inheritedEnvironment)
                result = try await Processes.run(spec, input: input, grace: .seconds(2))
            } catch {
                throw StatesError("States.TaskFailed", "cannot run \(program): \(error)")
            }
            guard result.status == 0 else {
                throw StatesError("Command.Failed", "\(command.joined(separator: " ")) exited with \(result.status): \(result.output.suffix(500))")
            }
            return ["ExitCode": .int(Int64(result.status)), "Output": .string(result.output)]
        }
    }

    /// The built-in resources by URI, with no HTTP transport: the HTTP task fails (`all(http:)`
    /// gives it one).
    package static var all: [String: any TaskResource] { all(http: nil) }

    /// The built-in resources by URI, the HTTP task sending its requests through `http`.
    package static func all(http: (any HTTPTransport)?) -> [String: any TaskResource] {
        ["slipway:echo": Echo(), "echo": Echo(), "slipway:fail": Fail(), "fail": Fail(), "slipway:command": RunCommand(),
         "arn:aws:states:::http:invoke": HTTPInvoke(transport: http), "slipway:http": HTTPInvoke(transport: http)]
    }
}
