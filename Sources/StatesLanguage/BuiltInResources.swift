import Foundation
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

    /// `slipway:command`: runs `Command` (an array: the program and its arguments) with
    /// `Input` (any JSON, optional) on standard input; the result is
    /// `{"ExitCode": 0, "Output": "..."}`, and a non-zero exit is the error `Command.Failed`.
    package struct RunCommand: TaskResource {
        package init() {}
        package func invoke(_ request: TaskRequest) async throws(StatesError) -> JSONValue {
            guard let command = request.input["Command"]?.arrayValue?.compactMap(\.stringValue), let program = command.first else {
                throw StatesError("States.TaskFailed", "slipway:command needs Parameters {\"Command\": [\"program\", \"arg\", ...]}")
            }
            let process = Process()
            process.executableURL = URL(fileURLWithPath: program.hasPrefix("/") ? program : "/usr/bin/env")
            process.arguments = program.hasPrefix("/") ? Array(command.dropFirst()) : command
            let output = FileManager.default.temporaryDirectory.appendingPathComponent("slipway-command-\(UUID().uuidString)")
            _ = FileManager.default.createFile(atPath: output.path, contents: nil)
            defer { try? FileManager.default.removeItem(at: output) }
            do {
                let handle = try FileHandle(forWritingTo: output)
                process.standardOutput = handle
                process.standardError = handle
                let input = Pipe()
                process.standardInput = input
                let status: Int32 = try await withTaskCancellationHandler {
                    try await withCheckedThrowingContinuation { continuation in
                        process.terminationHandler = { continuation.resume(returning: $0.terminationStatus) }
                        do {
                            try process.run()
                            if let data = request.input["Input"] { input.fileHandleForWriting.write(Data(data.serializedBytes())) }
                            try? input.fileHandleForWriting.close()
                        } catch {
                            continuation.resume(throwing: error)
                        }
                    }
                } onCancel: {
                    // A timed-out task: SIGKILL, since a child started from a pool thread may have SIGTERM blocked.
                    if process.isRunning { kill(process.processIdentifier, SIGKILL) }
                }
                try? handle.close()
                let text = String(decoding: (try? Data(contentsOf: output)) ?? Data(), as: UTF8.self)
                guard status == 0 else { throw StatesError("Command.Failed", "\(command.joined(separator: " ")) exited with \(status): \(text.suffix(500))") }
                return ["ExitCode": .int(Int64(status)), "Output": .string(text)]
            } catch let error as StatesError {
                throw error
            } catch {
                throw StatesError("States.TaskFailed", "cannot run \(program): \(error)")
            }
        }
    }

    /// The built-in resources by URI.
    package static var all: [String: any TaskResource] {
        ["slipway:echo": Echo(), "echo": Echo(), "slipway:fail": Fail(), "fail": Fail(), "slipway:command": RunCommand(),
         "arn:aws:states:::http:invoke": HTTPInvoke(), "slipway:http": HTTPInvoke()]
    }
}
