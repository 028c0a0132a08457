import Foundation
import Registry

/// A stage's artifact from a model's latest successful build: what
/// `slipway artifacts latest` prints.
package struct LatestArtifact: Sendable, Equatable {
    /// The model.
    package var model: String
    /// The stage.
    package var stage: String
    /// The artifact's content digest (null when unrecorded, as are the others).
    package var digest: JSONValue
    /// The artifact's folder.
    package var path: JSONValue
    /// The commit the build built.
    package var commit: JSONValue
    /// The build's id.
    package var build: JSONValue

    /// `{"model", "stage", "digest", "path", "commit", "build"}`.
    package var json: JSONValue {
        ["model": .string(model), "stage": .string(stage), "digest": digest, "path": path, "commit": commit, "build": build]
    }

    /// Why there is no such artifact.
    package enum Missing: Error, Sendable, Equatable, CustomStringConvertible {
        /// The model has no successful build.
        case noBuild(model: String)
        /// Its latest build has no such stage.
        case noStage(model: String, stage: String, build: String)

        /// What is missing and where to look.
        package var description: String {
            switch self {
            case .noBuild(let model): "model '\(model)' has no successful build yet; see `slipway builds list \(model)`"
            case .noStage(let model, let stage, let build): "model '\(model)' has no \(stage) stage in build \(build)"
            }
        }
    }

    /// The `stage` artifact of `model`'s latest successful build, from the `models` table.
    package static func find(model: String, stage: String, in registry: Registry) throws -> LatestArtifact {
        guard let latest = try registry.get(BuildTables.models, ItemKey(model))?.attributes["latest"] else { throw Missing.noBuild(model: model) }
        guard let artifact = latest["stages"]?[stage] else {
            throw Missing.noStage(model: model, stage: stage, build: latest["build"]?.stringValue ?? "?")
        }
        return LatestArtifact(model: model, stage: stage, digest: artifact["digest"] ?? .null, path: artifact["path"] ?? .null,
                              commit: latest["commit"] ?? .null, build: latest["build"] ?? .null)
    }
}
