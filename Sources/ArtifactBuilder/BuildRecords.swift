import Foundation
import Registry

/// The registry tables the build side owns, and how build ids look.
package enum BuildTables {
    /// `models/MODEL`: the build counter and the latest successful build's artifacts.
    package static let models = "models"
    /// `builds/MODEL/NNNNNNNN`: one record per build.
    package static let builds = "builds"
    /// `artifacts/DIGEST`: what each stored artifact is.
    package static let artifacts = "artifacts"

    /// `demand-12` for build 12 of model `demand`.
    package static func buildID(model: String, number: Int) -> String { "\(model)-\(number)" }

    /// The sort key of build `number`: zero-padded so that keys sort by number.
    package static func sortKey(_ number: Int) -> String { String(format: "%08d", number) }

    /// The model and number of a build id (the number follows the last `-`).
    package static func parse(buildID: String) -> (model: String, number: Int)? {
        guard let dash = buildID.lastIndex(of: "-"), let number = Int(buildID[buildID.index(after: dash)...]), number > 0 else { return nil }
        return (String(buildID[..<dash]), number)
    }
}

/// Told of every finished build: the seam where the pipelines start training and send
/// build notifications.
package protocol BuildListener: Sendable {
    func buildSucceeded(model: String, buildID: String, record: [String: JSONValue])
    /// A build that failed (its record holds `error`); the model may be unknown when the config did not parse.
    func buildFailed(model: String, buildID: String, record: [String: JSONValue])
}

extension BuildListener {
    package func buildFailed(model: String, buildID: String, record: [String: JSONValue]) {}
}
