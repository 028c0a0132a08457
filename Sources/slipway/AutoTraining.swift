import ArtifactBuilder
import Foundation
import Pipelines
import Registry
import StatesLanguage
import Synchronization

/// The agent's end of the "build finished" seam: notifies each build's outcome, and
/// collects the models whose builds succeeded, to train unless their config says
/// `build: {train: false}` (or they are composites, which have nothing to train).
final class AutoTraining: BuildListener {
    private let models = Mutex<[String]>([])
    private let finished = Mutex<[(type: String, model: String, record: [String: JSONValue])]>([])

    func buildSucceeded(model: String, buildID: String, record: [String: JSONValue]) {
        models.withLock { if !$0.contains(model) { $0.append(model) } }
        finished.withLock { $0.append(("BuildSucceeded", model, record)) }
    }

    func buildFailed(model: String, buildID: String, record: [String: JSONValue]) {
        finished.withLock { $0.append(("BuildFailed", model, record)) }
    }

    /// The models built since the last call whose config asks for training.
    func take(resources: TrainingResources) -> [String] {
        let built = models.withLock { models in
            defer { models.removeAll() }
            return models
        }
        return built.filter { model in
            guard let config = try? resources.config(model: model).0 else { return false }
            return config.trainAfterBuild && config.compose.isEmpty
        }
    }

    /// Sends `BuildSucceeded` and `BuildFailed` for the builds finished since the last call.
    func notify(resources: TrainingResources) async {
        let events = finished.withLock { events in
            defer { events.removeAll() }
            return events
        }
        let notifier = Notifier(registry: resources.registry)
        for event in events {
            var details: [String: JSONValue] = ["model": .string(event.model)]
            for key in ["id", "commit", "branch", "error", "status"] { details[key] = event.record[key] }
            await notifier.notify(event.type, details: details, targets: resources.notifyTargets(model: event.model))
        }
    }
}
