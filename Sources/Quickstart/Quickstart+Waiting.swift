import ArtifactBuilder
import Foundation
import JSON
import Pipelines
import Serving
import StatesLanguage

extension Quickstart {
    /// Waits until an agent serves the home (its serving marker names a live process);
    /// returns its address, `host:port`.
    package func waitForServing() async throws -> String {
        let deadline = ContinuousClock.now + timings.serving
        while true {
            if let agent = ServingMarker.read(home: home) { return "\(agent.host):\(agent.port)" }
            guard ContinuousClock.now < deadline else { break }
            try await Task.sleep(for: timings.servingPoll)
        }
        let log = home + "/agent.log"
        throw QuickstartError("the agent did not start serving; its log (\(log)) ends:\n\(Self.tail(log))", hint: "fix what the log says and run the quickstart again")
    }

    /// Waits for `model`'s newest build to succeed; a failed build is an error naming it.
    package func waitForBuild(_ model: String) async throws {
        let deadline = ContinuousClock.now + timings.work
        while true {
            let newest = try registry.query(BuildTables.builds, partition: model, descending: true, limit: 1).items.first?.attributes
            if newest?["status"] == .string(BuildStatus.succeeded.rawValue) { return }
            if newest?["status"] == .string(BuildStatus.failed.rawValue) {
                throw QuickstartError("the build of \(model) failed: \(newest?["error"]?.stringValue ?? "?")",
                                      hint: "see `slipway builds show \(newest?["id"]?.stringValue ?? model)`")
            }
            guard ContinuousClock.now < deadline else { break }
            try await Task.sleep(for: timings.poll)
        }
        throw QuickstartError("\(model) was not built within \(timings.work)", hint: "see \(home)/agent.log")
    }

    /// Waits for `model`'s first version (its training); a failed training execution of
    /// the model is an error naming it.
    package func waitForVersion(_ model: String) async throws -> JSONValue {
        let executions = ExecutionStore(folder: home + "/executions")
        let deadline = ContinuousClock.now + timings.work
        while true {
            if let version = try ModelVersions(registry: registry).list(model).last { return .object(version) }
            for summary in executions.summaries() where summary.name.hasPrefix("training-\(model)-") && summary.status == ExecutionStatus.failed.rawValue {
                let failure = summary.end
                throw QuickstartError("training \(model) failed: \(failure?["error"]?.stringValue ?? "") \(failure?["cause"]?.stringValue ?? "")",
                                      hint: "see `slipway logs \(summary.name)`")
            }
            guard ContinuousClock.now < deadline else { break }
            try await Task.sleep(for: timings.poll)
        }
        throw QuickstartError("\(model) was not trained within \(timings.work)", hint: "see `slipway executions list`")
    }

    /// The last 15 lines of the file at `path` (empty when it cannot be read).
    static func tail(_ path: String) -> String {
        ((try? String(contentsOfFile: path, encoding: .utf8)) ?? "").split(separator: "\n").suffix(15).joined(separator: "\n")
    }
}
