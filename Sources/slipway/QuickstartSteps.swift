import ArtifactBuilder
import Foundation
import Home
import JSON
import Pipelines
import Registry
import Serving
import StatesLanguage

/// The quickstart's hands: run a shell step or this slipway, start the agent, and wait for
/// what the agent does, saying what happens.
struct Steps {
    let slipway: String
    let home: String
    private let started = Date()

    init(slipway: String, home: String) {
        self.slipway = slipway
        self.home = home
    }

    func say(_ text: String) {
        print(String(format: "==> [%4.0fs] ", Date().timeIntervalSince(started)) + text)
        fflushStandardOutput()
    }

    /// Runs `sh -c SCRIPT`; fails with its output when it fails.
    func sh(_ script: String) async throws {
        let result = try await Processes.run(ProcessSpec("/bin/sh", ["-c", script], environment: ProcessSpec.inheritedEnvironment), timeout: .seconds(300))
        guard result.succeeded else { throw CommandFailure(message: "this step failed:\n\(script)\n\(result.output)", status: ExitStatus.failure) }
    }

    /// Runs this slipway with `arguments` on the home; prints its output unless `quiet`.
    @discardableResult
    func slipway(_ arguments: [String], quiet: Bool = false) async throws -> String {
        let command = ProcessSpec(slipway, arguments + ["--home", home], environment: ProcessSpec.inheritedEnvironment)
        let result = try await Processes.run(command, timeout: .seconds(900))
        guard result.succeeded else {
            throw CommandFailure(message: "`slipway \(arguments.joined(separator: " "))` failed:\n\(result.output)", status: ExitStatus.failure)
        }
        if !quiet { print(result.output.split(separator: "\n").map { "      " + $0 }.joined(separator: "\n")) }
        return result.output
    }

    /// Starts `slipway agent` in a session of its own (it outlives the quickstart),
    /// logging to `HOME/agent.log`.
    func startAgent(port: Int) async throws {
        let command = ProcessSpec(slipway, ["agent", "--port", String(port), "--home", home], environment: ProcessSpec.inheritedEnvironment)
        do {
            _ = try await Processes.startDetached(command, log: home + "/agent.log")
        } catch {
            throw CommandFailure(message: "cannot start the agent: \(error)", status: ExitStatus.failure)
        }
    }

    /// Waits until an agent serves the home; returns its address.
    func waitForServing() async throws -> String {
        for _ in 0..<300 {
            if let agent = ServingMarker.read(home: home) { return "\(agent.host):\(agent.port)" }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw CommandFailure(message: "the agent did not start serving; its log (\(home)/agent.log) ends:\n\(tail(home + "/agent.log"))", status: ExitStatus.failure)
    }

    /// Waits for the model's newest build to succeed (a failed one is an error).
    func waitForBuild(_ model: String) async throws {
        let registry = try Registry(home: home)
        for _ in 0..<1200 {
            let newest = try registry.query(BuildTables.builds, partition: model, descending: true, limit: 1).items.first?.attributes
            if newest?["status"] == .string(BuildStatus.succeeded.rawValue) { return }
            if newest?["status"] == .string(BuildStatus.failed.rawValue) {
                throw CommandFailure(message: "the build of \(model) failed: \(newest?["error"]?.stringValue ?? "?"); see `slipway builds show \(newest?["id"]?.stringValue ?? model)`", status: ExitStatus.failure)
            }
            try await Task.sleep(for: .milliseconds(500))
        }
        throw CommandFailure(message: "\(model) was not built within 10 minutes; see \(home)/agent.log", status: ExitStatus.failure)
    }

    /// Waits for the model's first version (its build and training), saying how far it got.
    func waitForVersion(_ model: String) async throws -> JSONValue {
        try await waitForBuild(model)
        say("\(model) is built; training it")
        let registry = try Registry(home: home)
        let executions = ExecutionStore(folder: home + "/executions")
        for _ in 0..<1200 {
            if let version = try ModelVersions(registry: registry).list(model).last { return .object(version) }
            for name in executions.names() where name.hasPrefix("training-\(model)-") {
                guard let stored = try? executions.open(name), let status = try? executions.status(of: stored), status.status == ExecutionStatus.failed.rawValue else { continue }
                let failure = status.history.last?.details
                throw CommandFailure(message: "training \(model) failed: \(failure?["error"]?.stringValue ?? "") \(failure?["cause"]?.stringValue ?? ""); see `slipway logs \(name)`", status: ExitStatus.failure)
            }
            try await Task.sleep(for: .milliseconds(500))
        }
        throw CommandFailure(message: "\(model) was not trained within 10 minutes; see `slipway executions list`", status: ExitStatus.failure)
    }

    /// A version's metrics in one line.
    static func metrics(_ version: JSONValue) -> String {
        var parts: [String] = []
        for (family, values) in (version["metrics"]?.objectValue ?? [:]).sorted(by: { $0.key < $1.key }) {
            for (name, value) in (values.objectValue ?? [:]).sorted(by: { $0.key < $1.key }) {
                if let number = value["value"]?.doubleValue { parts.append("\(family).\(name) = \(String(format: "%.4g", number))") }
            }
        }
        return parts.isEmpty ? "no metrics" : parts.joined(separator: ", ")
    }

    private func tail(_ path: String) -> String {
        ((try? String(contentsOfFile: path, encoding: .utf8)) ?? "").split(separator: "\n").suffix(15).joined(separator: "\n")
    }
}

/// Flushes what `print` buffered, so that progress shows as it happens.
func fflushStandardOutput() {
    fflush(nil)
}
