import Foundation

/// Runs the built `slipway` binary (the one beside this test bundle) and other programs.
enum Slipway {
    /// The `slipway` executable SwiftPM built next to the test binary; `SLIPWAY_BIN` overrides.
    static let binary: String = {
        if let path = ProcessInfo.processInfo.environment["SLIPWAY_BIN"] { return path }
        let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        return URL(fileURLWithPath: exe).deletingLastPathComponent().appendingPathComponent("slipway").path
    }()

    struct Result {
        var status: Int32
        var killed: Bool
        var stdout: String
        var stderr: String
    }

    /// Starts `slipway ARGS --home HOME` with extra environment; the caller waits or kills.
    static func start(_ arguments: [String], home: String, environment: [String: String] = [:], input: String? = nil) throws -> Running {
        try Running(executable: binary, arguments: arguments + ["--home", home], environment: environment, input: input)
    }

    /// Runs `slipway ARGS` (no home) to the end.
    static func run(_ arguments: [String]) async throws -> Result {
        try await Running(executable: binary, arguments: arguments, environment: [:], input: nil).wait()
    }

    /// Runs `slipway ARGS --home HOME` to the end.
    static func run(_ arguments: [String], home: String, environment: [String: String] = [:], input: String? = nil) async throws -> Result {
        try await start(arguments, home: home, environment: environment, input: input).wait()
    }

    /// A started process with captured output.
    final class Running: @unchecked Sendable {
        let process = Process()
        private let out = Pipe()
        private let err = Pipe()

        init(executable: String, arguments: [String], environment: [String: String], input: String?) throws {
            process.executableURL = URL(fileURLWithPath: executable)
            process.arguments = arguments
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
            process.standardOutput = out
            process.standardError = err
            let stdin = Pipe()
            process.standardInput = stdin
            try process.run()
            if let input { stdin.fileHandleForWriting.write(Data(input.utf8)) }
            try stdin.fileHandleForWriting.close()
        }

        /// Sends SIGKILL.
        func kill() { Foundation.kill(process.processIdentifier, SIGKILL) }

        /// Waits for the end and returns the status and output. The blocking reads run on a
        /// thread of their own, so that tests waiting for processes never hold the threads of
        /// Swift's concurrency pool (two on this machine) that the other suites need.
        func wait() async -> Result {
            await withCheckedContinuation { continuation in
                Thread { continuation.resume(returning: self.waitBlocking()) }.start()
            }
        }

        private func waitBlocking() -> Result {
            let stdout = out.fileHandleForReading.readDataToEndOfFile()
            let stderr = err.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            return Result(
                status: process.terminationStatus,
                killed: process.terminationReason == .uncaughtSignal,
                stdout: String(decoding: stdout, as: UTF8.self),
                stderr: String(decoding: stderr, as: UTF8.self))
        }
    }
}

/// A fresh folder under the system temp folder, removed when released.
final class TemporaryHome {
    let path: String

    init() {
        var bytes = Array((NSTemporaryDirectory() + "slipway-cli-XXXXXX").utf8CString)
        path = String(cString: mkdtemp(&bytes)!)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }
}
