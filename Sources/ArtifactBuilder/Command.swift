import Foundation

/// A finished child process: its exit status and combined output.
package struct CommandResult: Sendable {
    package var status: Int32
    package var output: String
    package var succeeded: Bool { status == 0 }
}

/// Runs short build-time commands (venv creation, pip, build steps) to completion.
/// Synchronous: call it from a build thread, never from the Swift concurrency pool.
package enum Command {
    /// Runs `executable` with `arguments` in `directory`, adding `environment` to this
    /// process's environment; standard output and error are captured together.
    package static func run(
        _ executable: String, _ arguments: [String], in directory: String? = nil, environment: [String: String] = [:]
    ) throws -> CommandResult {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let output = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return CommandResult(status: process.terminationStatus, output: String(decoding: output, as: UTF8.self))
    }

    /// The absolute path of `name` on `PATH`, or nil.
    package static func which(_ name: String) -> String? {
        if name.contains("/") { return FileManager.default.isExecutableFile(atPath: name) ? name : nil }
        for folder in (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":") {
            let candidate = "\(folder)/\(name)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }
}
