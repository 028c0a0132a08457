import Registry
import Serving
import StatesLanguage

/// What `slipway:deploy.prepare` hands every later state of the deployment pipeline (the
/// state's output, at `$.deployment`): the version, the endpoint, its configuration and
/// the polling plan the definition's Wait loop reads.
package struct PreparedDeployment: Codable, Sendable, Equatable {
    /// The model's name.
    package var model: String
    /// The model version (a composite's: its build number).
    package var version: Int
    /// The endpoint to update.
    package var endpoint: String
    /// The commit the version was built from.
    package var commit: String?
    /// The endpoint configuration, in `EndpointConfig`'s JSON form.
    package var config: JSONValue
    /// Seconds the update may take before the deployment times out.
    package var timeout: Int
    /// How the definition polls the update's status.
    package var polling: Polling

    /// Waits that double from `firstWait` seconds up to `maxWait`, at most `maxChecks` checks.
    package struct Polling: Codable, Sendable, Equatable {
        /// Seconds before the first check.
        package var firstWait: Int
        /// The longest wait between checks, in seconds.
        package var maxWait: Int
        /// Checks before the deployment times out.
        package var maxChecks: Int
    }

    /// The configuration as `EndpointConfig`; a `States.Runtime` error when it is not one.
    func endpointConfig(by resource: String) throws(StatesError) -> EndpointConfig {
        guard let config = EndpointConfig(json: config) else {
            throw StatesError.runtime("\(resource) cannot read its input: 'Deployment.config' is not an endpoint configuration (variants, autoscaling, traffic)")
        }
        return config
    }
}

/// A deployment's status in the `deployments` table: the in-progress mark, then the
/// outcome (also each record of `deployment-history`).
package enum DeploymentStatus: String, Codable, Sendable, CaseIterable {
    /// A deployment runs (the mark names its execution).
    case inProgress = "InProgress"
    /// The endpoint serves the new version.
    case succeeded = "Succeeded"
    /// The update was rolled back; the endpoint serves what it served before.
    case rolledBack = "RolledBack"
    /// The update failed.
    case failed = "Failed"
    /// The endpoint was not InService in time; its update may go on.
    case timedOut = "TimedOut"
}

/// Where an endpoint's update to a generation stands, as `slipway:deploy.status` answers
/// (the definition's `IsUpdateDone` Choice compares these strings).
package enum UpdateStatus: String, Codable, Sendable, CaseIterable {
    /// The update goes on.
    case updating = "Updating"
    /// The new version serves all traffic.
    case inService = "InService"
    /// The update was rolled back.
    case rolledBack = "RolledBack"
    /// The update failed.
    case failed = "Failed"
}

/// What `slipway:deploy.status` answers (at `$.endpoint`).
package struct UpdateProgress: Codable, Sendable, Equatable {
    /// The endpoint's own status (`Creating`, `InService`, ...).
    package var endpointStatus: String
    /// Where the update stands.
    package var status: UpdateStatus
    /// Why the update failed or waits, when known.
    package var reason: String?
}

/// The input of `slipway:deploy.mark`, `.config` and `.autoscaling`.
struct DeploymentInput: Codable, Sendable, Equatable {
    var deployment: PreparedDeployment
    var execution: String?

    enum CodingKeys: String, CodingKey { case deployment = "Deployment", execution = "Execution" }
}

/// The input of `slipway:deploy.begin` and `.status`.
struct GenerationInput: Codable, Sendable, Equatable {
    var endpoint: String
    var generation: Int

    enum CodingKeys: String, CodingKey { case endpoint = "Endpoint", generation = "Generation" }
}

/// The input of `slipway:deploy.finish`.
struct FinishInput: Codable, Sendable, Equatable {
    var deployment: PreparedDeployment
    var generation: Int?
    var outcome: DeploymentStatus
    var reason: String?
    var checks: Int?
    /// The last `UpdateProgress` (for a timeout).
    var status: UpdateProgress?
    var execution: String?

    enum CodingKeys: String, CodingKey {
        case deployment = "Deployment", generation = "Generation", outcome = "Outcome", reason = "Reason", checks = "Checks"
        case status = "Status", execution = "Execution"
    }
}
