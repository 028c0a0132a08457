import Foundation
import Registry
import Serving
import StatesLanguage

/// How a deployment execution ended, with the endpoint's state after it: what
/// `slipway deploy --wait` prints, as JSON or as lines.
package struct DeploymentReport: Sendable {
    /// The execution's name.
    package var execution: String
    /// Its outcome.
    package var outcome: ExecutionOutcome
    /// The endpoint the deployment updated (asked for, else what its GetVersion step
    /// decided), nil when it did not get that far.
    package var endpoint: String?
    /// `EndpointRecords.describe` of that endpoint after the deployment, or null.
    package var state: JSONValue

    /// Whether the deployment succeeded.
    package var succeeded: Bool { outcome.status == "SUCCEEDED" }

    /// `{"execution", "status", "endpoint", "error"?, "cause"?}`.
    package var json: JSONValue {
        var result: [String: JSONValue] = ["execution": .string(execution), "status": .string(outcome.status), "endpoint": state]
        if let error = outcome.error {
            result["error"] = .string(error.error)
            result["cause"] = .string(error.cause)
        }
        return .object(result)
    }

    /// `NAME: STATUS`, the error when it failed, and what the endpoint serves now.
    package var lines: [String] {
        var lines = ["\(execution): \(outcome.status)"]
        if let error = outcome.error { lines.append("\(error.error): \(error.cause)") }
        if let endpoint, state != .null {
            let version = state["version"]?.intValue.map(String.init) ?? "?"
            lines.append("endpoint \(endpoint): \(state["status"]?.stringValue ?? "?"), serving \(state["model"]?.stringValue ?? "?") version \(version)")
        }
        return lines
    }
}

extension Deployments {
    /// The report of the deployment `execution` that ended with `outcome`; `endpoint` is
    /// the one the caller asked for, if any. An endpoint that cannot be read reports null.
    package func report(execution: String, outcome: ExecutionOutcome, endpoint requested: String?) -> DeploymentReport {
        let name = requested ?? Self.endpoint(in: outcome)
        let state = name.flatMap { try? EndpointRecords(registry: registry).describe($0) } ?? .null
        return DeploymentReport(execution: execution, outcome: outcome, endpoint: name, state: state)
    }
}
