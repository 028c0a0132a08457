import ArtifactBuilder
import Foundation
import Home
import Jobs
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

    /// Moves a finished job's outputs under `HOME/outputs/KEY` and records them. Two jobs
    /// with the same key (two models whose preprocess stages are byte-identical, say) may
    /// finish at once: each stages its outputs in a folder of its own and renames it into
    /// place; the second finds the first's outputs there, equivalent by construction, and
    /// uses them, so a folder another job reads is never replaced.
    func store(_ key: String, result: JobResult, stage: String, execution: String) throws(StatesError) -> JSONValue {
        let folder = home + "/outputs/" + key
        let staging = folder + ".staging-\(UUID().uuidString)"
        let manager = FileManager.default
        do {
            try manager.createDirectory(atPath: staging, withIntermediateDirectories: true)
            for (name, path) in result.outputs { try manager.moveItem(atPath: path, toPath: staging + "/" + name) }
            try? manager.copyItem(atPath: result.logPath, toPath: staging + "/output.log")
            if let archive = result.modelArchive {
                try manager.createDirectory(atPath: staging + "/model", withIntermediateDirectories: true)
                try manager.moveItem(atPath: archive, toPath: staging + "/model/model.tar.gz")
            }
            try DurableFolders.sync(staging)
            if rename(staging, folder) != 0 {
                guard errno == ENOTEMPTY || errno == EEXIST else {
                    throw StatesError("Job.Failed", "storing the outputs of \(stage) in '\(folder)' failed: \(String(cString: strerror(errno)))")
                }
                let complete = result.outputs.keys.allSatisfy { manager.fileExists(atPath: folder + "/" + $0) }
                    && (result.modelArchive == nil || manager.fileExists(atPath: folder + "/model/model.tar.gz"))
                if complete {
                    try? manager.removeItem(atPath: staging)
                } else {
                    // Someone removed part of an earlier store: set it aside and put ours in its place.
                    _ = rename(folder, folder + ".incomplete-\(UUID().uuidString)")
                    guard rename(staging, folder) == 0 else {
                        throw StatesError("Job.Failed", "storing the outputs of \(stage) in '\(folder)' failed: \(String(cString: strerror(errno)))")
                    }
                }
            }
            var record: [String: JSONValue] = [
                "stage": .string(stage), "execution": .string(execution), "cache": "miss", "log": .string(folder + "/output.log"),
                "outputs": .object(Dictionary(uniqueKeysWithValues: result.outputs.keys.map { ($0, JSONValue.string(folder + "/" + $0)) })),
                "createdAt": .double(Date().timeIntervalSince1970),
            ]
            if result.modelArchive != nil {
                record["modelFolder"] = .string(folder + "/model")
                record["modelArchive"] = .string(folder + "/model/model.tar.gz")
                record["modelDigest"] = .string(try Digest.ofHostPath(folder + "/model/model.tar.gz"))
            }
            try registry.put(Self.table, ItemKey(key), record)
            // The outputs and the log are kept; the rest of the job's scratch folder is not.
            try? manager.removeItem(atPath: (result.folder as NSString).deletingLastPathComponent)
            return .object(record)
        } catch let error as StatesError {
            try? manager.removeItem(atPath: staging)
            throw error
        } catch {
            try? manager.removeItem(atPath: staging)
            throw StatesError("Job.Failed", "storing the outputs of \(stage) failed: \(error)")
        }
    }
}
