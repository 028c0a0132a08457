import Foundation
import Registry
import Serving
import StatesLanguage

/// Starting deployments and reading their history: what `slipway deploy` and
/// `slipway rollback` call.
package struct Deployments: Sendable {
    package let home: String
    package let registry: Registry

    package init(home: String, registry: Registry) {
        self.home = home
        self.registry = registry
    }

    /// Every finished deployment to the endpoint, oldest first.
    package func history(endpoint: String) throws -> [[String: JSONValue]] {
        try registry.query(DeploymentResources.history, partition: endpoint).items.map(\.attributes)
    }

    /// The model version the endpoint served before the one it serves now: the newest
    /// successful deployment of another version than the current one.
    package func rollbackTarget(endpoint: String) throws -> (model: String, version: Int) {
        let succeeded = try history(endpoint: endpoint).filter { $0["status"] == .string(DeploymentStatus.succeeded.rawValue) }
        let described = try? EndpointRecords(registry: registry).describe(endpoint)
        let serving = described.flatMap { d in d["model"]?.stringValue.flatMap { model in d["version"]?.intValue.map { (model, Int($0)) } } }
        guard let current = serving ?? succeeded.last.flatMap(Self.pair) else {
            throw DeploymentError("endpoint '\(endpoint)' has never been deployed; see `slipway endpoints list`")
        }
        guard let previous = succeeded.reversed().compactMap(Self.pair).first(where: { $0 != current }) else {
            throw DeploymentError("endpoint '\(endpoint)' has served only \(current.0) version \(current.1); there is nothing to roll back to")
        }
        return previous
    }

    private static func pair(_ record: [String: JSONValue]) -> (String, Int)? {
        guard let model = record["model"]?.stringValue, let version = record["version"]?.intValue else { return nil }
        return (model, Int(version))
    }

    /// The deployment pipeline's endpoint, from a finished execution's history (what its
    /// GetVersion step decided), when it got that far.
    package static func endpoint(in outcome: ExecutionOutcome) -> String? {
        for event in outcome.history where event.type == "TaskSucceeded" && event.details?["resource"] == "slipway:deploy.prepare" {
            if let text = event.details?["output"]?.stringValue, let output = try? JSONValue(parsing: text) { return output["endpoint"]?.stringValue }
        }
        return nil
    }
}

/// Why a deployment command cannot go on.
package struct DeploymentError: Error, Sendable, CustomStringConvertible {
    package var description: String
    init(_ description: String) { self.description = description }
}
