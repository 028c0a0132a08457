import ArtifactBuilder
import Jobs
import Registry
import StatesLanguage

/// What `slipway:training.prepare` hands every later state of the training pipeline (the
/// state's output, at `$.prepared`): the build, the data and one `PreparedStage` per job.
package struct PreparedTraining: Codable, Sendable, Equatable {
    /// The model's name.
    package var model: String
    /// The commit the build was made from.
    package var commit: String
    /// The build's id (`MODEL-N`).
    package var build: String?
    /// The content digests of the data the build saw (the build record's `data`), or null.
    package var dataDigests: JSONValue
    /// The jobs by stage (`preprocess`, `train`, `evaluate`).
    package var stages: [String: PreparedStage]
    /// The preprocess stage's data inputs: name to host path.
    package var data: [String: String]
    /// Who approves a version that passes its gates (`auto` registers it Approved).
    package var approval: Approval
    /// The thresholds the evaluation report must meet.
    package var gates: [Gate]
}

/// One stage's job, as prepared from its artifact and the config's `stages` entry.
package struct PreparedStage: Codable, Sendable, Equatable {
    /// `training` for the train stage, `processing` for preprocess and evaluate.
    package var kind: JobSpec.Kind
    /// The artifact's code snapshot.
    package var code: String
    /// The script, relative to `code`.
    package var script: String
    /// The artifact's content digest (part of the step cache's key).
    package var digest: String?
    /// The interpreter of the artifact's Python environment.
    package var python: String
    /// Command-line arguments for the script.
    package var arguments: [String]
    /// Training hyperparameters (as `--name value` and in `hyperparameters.json`).
    package var hyperparameters: [String: String]
    /// The processing outputs the job writes (the evaluate stage's is `evaluation`).
    package var outputs: [String]
    /// CPUs the sandbox grants.
    package var cpus: Double
    /// Bytes of memory the sandbox grants.
    package var memory: Int64
    /// Seconds.
    package var timeout: Int
    /// Whether the job may use the network.
    package var network: Bool
    /// Attempts after the first.
    package var retries: Int
    /// Whether the step cache may answer for the job.
    package var cache: Bool
}

/// The input of `slipway:training.job`, as the training definition's Parameters build it.
struct JobInput: Codable, Sendable, Equatable {
    var stage: String
    var prepared: PreparedTraining
    var inputs: [String: String]?
    var attempt: Int?
    var execution: String?

    enum CodingKeys: String, CodingKey {
        case stage = "Stage", prepared = "Prepared", inputs = "Inputs", attempt = "Attempt", execution = "Execution"
    }
}

/// The input of `slipway:training.gates`: the prepared gates and the evaluate job's output folder.
struct GatesInput: Codable, Sendable, Equatable {
    var prepared: PreparedTraining
    var evaluation: String

    enum CodingKeys: String, CodingKey { case prepared = "Prepared", evaluation = "Evaluation" }
}

/// The input of `slipway:training.register`.
struct RegisterInput: Codable, Sendable, Equatable {
    var prepared: PreparedTraining
    var verdict: GateVerdict
    /// The step-cache records of the jobs, by stage.
    var jobs: [String: JSONValue]
    var execution: String?

    enum CodingKeys: String, CodingKey { case prepared = "Prepared", verdict = "Verdict", jobs = "Jobs", execution = "Execution" }
}

/// What `slipway:training.register` answers (the training's output): the version it
/// registered, or, with `sameAs`, the existing version whose model is byte for byte this one.
package struct RegisteredVersion: Codable, Sendable, Equatable {
    /// The model's name.
    package var model: String
    /// The version's number.
    package var version: Int
    /// `Approved`, `PendingManualApproval` or `Rejected`.
    package var status: ModelVersions.Status
    /// Why the gates rejected it (empty when it passed).
    package var reasons: [String]
    /// The execution that registered the same model before.
    package var sameAs: String?
}

extension JSONValue {
    /// A task's input as `T`; a malformed one (a hand-written execution input, say) is a
    /// `States.Runtime` error that names the resource and the field.
    func decoded<T: Decodable>(_ type: T.Type = T.self, by resource: String) throws(StatesError) -> T {
        do {
            return try decode(T.self)
        } catch {
            throw StatesError.runtime("\(resource) cannot read its input: \(error); start the shipped definition, whose Parameters build it")
        }
    }

    /// `value` as a state's output.
    static func encoded<T: Encodable>(_ value: T) throws(StatesError) -> JSONValue {
        do {
            return try JSONValue(encoding: value)
        } catch {
            throw StatesError.runtime("encoding \(T.self) failed: \(error)")
        }
    }
}
