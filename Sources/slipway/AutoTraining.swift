import ArtifactBuilder
import Foundation
import Pipelines
import Registry
import StatesLanguage
import Synchronization

/// The agent's end of the "build succeeded" seam: the models whose builds succeeded, to
/// train unless their config says `build: {train: false}`.
final class AutoTraining: BuildListener {
    private let models = Mutex<[String]>([])

    func buildSucceeded(model: String, buildID: String, record: [String: JSONValue]) {
        models.withLock { if !$0.contains(model) { $0.append(model) } }
    }

    /// The models built since the last call whose config asks for training.
    func take(resources: TrainingResources) -> [String] {
        let built = models.withLock { models in
            defer { models.removeAll() }
            return models
        }
        return built.filter { model in ((try? resources.config(model: model))?.0.trainAfterBuild) ?? false }
    }
}
