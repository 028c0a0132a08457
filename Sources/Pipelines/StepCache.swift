import ArtifactBuilder
import Foundation
import Registry
import StatesLanguage

/// Reuses a job's outputs when nothing it depends on changed: the stage's artifact, its
/// inputs (data by content, an earlier job's outputs by that job's key), its arguments and
/// hyperparameters. Outputs live under
/// `HOME/outputs/KEY` (addressed by that key) and the registry table `job-cache` says
/// which execution made them.
struct StepCache {
    static let table = "job-cache"
    let home: String
    let registry: Registry

    func key(for job: JobSpec, artifact: String) -> String {
        var lines = ["slipway-job 1", "stage \(job.stage)", "artifact \(artifact)", "kind \(job.kind.rawValue)"]
        lines += job.arguments.map { "argument \($0)" }
        lines += job.hyperparameters.map { "hyperparameter \($0.0)=\($0.1)" }
        let outputs = home + "/outputs/"
        for (name, path) in job.inputs.sorted(by: { $0.key < $1.key }) {
            // An earlier job's output stands for that job's key (its whole lineage), as in
            // SageMaker Pipelines: a step whose upstream step ran again runs again, even if
            // the bytes happen to match. Data from elsewhere is digested by content.
            let identity = path.hasPrefix(outputs) ? "job \(path.dropFirst(outputs.count))" : ((try? Digest.ofHostPath(path)) ?? "missing")
            lines.append("input \(name) \(identity)")
        }
        return Digest.sha256(lines: lines)
    }

    func lookup(_ key: String) -> JSONValue? {
        guard let item = try? registry.get(Self.table, ItemKey(key)) else { return nil }
        let outputs = item.attributes["outputs"]?.objectValue ?? [:]
        guard outputs.values.allSatisfy({ FileManager.default.fileExists(atPath: $0.stringValue ?? "/nonexistent") }) else { return nil }
        return .object(item.attributes)
    }

    /// Moves a finished job's outputs under `HOME/outputs/KEY` and records them.
    func store(_ key: String, result: JobResult, stage: String, execution: String) throws(StatesError) -> JSONValue {
        let folder = home + "/outputs/" + key
        do {
            try? FileManager.default.removeItem(atPath: folder)
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            var outputs: [String: JSONValue] = [:]
            for (name, path) in result.outputs {
                try FileManager.default.moveItem(atPath: path, toPath: folder + "/" + name)
                outputs[name] = .string(folder + "/" + name)
            }
            let log = folder + "/output.log"
            try? FileManager.default.copyItem(atPath: (result.folder as NSString).deletingLastPathComponent + "/output.log", toPath: log)
            var record: [String: JSONValue] = [
                "stage": .string(stage), "execution": .string(execution), "outputs": .object(outputs), "cache": "miss", "log": .string(log),
                "createdAt": .double(Date().timeIntervalSince1970),
            ]
            if let archive = result.modelArchive {
                try FileManager.default.createDirectory(atPath: folder + "/model", withIntermediateDirectories: true)
                try FileManager.default.moveItem(atPath: archive, toPath: folder + "/model/model.tar.gz")
                record["modelFolder"] = .string(folder + "/model")
                record["modelArchive"] = .string(folder + "/model/model.tar.gz")
                record["modelDigest"] = .string(try Digest.ofHostPath(folder + "/model/model.tar.gz"))
            }
            try registry.put(Self.table, ItemKey(key), record)
            // The outputs and the log are kept; the rest of the job's scratch folder is not.
            try? FileManager.default.removeItem(atPath: (result.folder as NSString).deletingLastPathComponent)
            return .object(record)
        } catch let error as StatesError {
            throw error
        } catch {
            throw StatesError("Job.Failed", "storing the outputs of \(stage) failed: \(error)")
        }
    }
}
