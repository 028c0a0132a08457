import Foundation
import Home
import JSON

/// A job's SageMaker container layout on the host: the work folder that becomes
/// `/opt/ml`, the binds of its code and inputs, its environment (`SM_*`, thread counts)
/// and its arguments (the hyperparameters as `--name value`).
struct SageMakerLayout {
    /// The host folder mounted at `/opt/ml`.
    let ml: String
    /// The sandbox the job runs in.
    let sandbox: Sandbox
    /// The job's own variables (added to what the agent passes on).
    let environment: [String: String]
    /// The script's arguments.
    let arguments: [String]

    /// Makes `work/ml` afresh for `spec` (an earlier attempt's folder is removed first).
    init(_ spec: JobSpec, work: String) throws(JobFailure) {
        let ml = work + "/ml"
        var parts = Parts()
        do {
            try Self.prepare(spec, work: work, ml: ml, into: &parts)
        } catch let failure as JobFailure {
            throw failure
        } catch {
            throw JobFailure(error: "Job.Failed", cause: "preparing the work folder '\(work)' of \(spec.stage) failed: \(error); check the disk and the folder's permissions")
        }
        self.ml = ml
        sandbox = parts.sandbox
        environment = parts.environment
        arguments = parts.arguments
    }

    private struct Parts {
        var sandbox = Sandbox(mounts: [])
        var environment: [String: String] = [:]
        var arguments: [String] = []
    }

    private static func prepare(_ spec: JobSpec, work: String, ml: String, into parts: inout Parts) throws {
        let manager = FileManager.default
        if manager.fileExists(atPath: work) { try manager.removeItem(atPath: work) }
        var binds: [Sandbox.Mount] = []
        let cpus = Sandbox.wholeCPUs(spec.resources.cpus, atMost: ProcessInfo.processInfo.activeProcessorCount)
        var environment: [String: String] = [
            "PYTHONDONTWRITEBYTECODE": "1", "PYTHONUNBUFFERED": "1", "TMPDIR": "/opt/ml/tmp", "HOME": "/opt/ml/tmp",
            "SM_NUM_CPUS": "\(cpus)", "SM_CURRENT_HOST": "algo-1", "SM_HOSTS": #"["algo-1"]"#,
        ]
        for variable in ["OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS"] {
            environment[variable] = "\(cpus)"
        }
        var folders = ["tmp", "code"]
        var arguments = spec.arguments
        var hyperparameters: JSONValue?
        switch spec.kind {
        case .processing:
            for (name, host) in spec.inputs.sorted(by: { $0.key < $1.key }) {
                let inside = spec.processingDestinations.contains(name) ? "processing/\(name)" : "processing/input/\(name)"
                folders.append(inside)
                binds.append(try bind(host, at: "/opt/ml/" + inside, placeholderIn: ml + "/" + inside))
            }
            folders += spec.outputs.map { "processing/\($0)" } + ["processing/input/code"]
        case .training:
            for (name, host) in spec.inputs.sorted(by: { $0.key < $1.key }) {
                folders.append("input/data/\(name)")
                binds.append(try bind(host, at: "/opt/ml/input/data/\(name)", placeholderIn: ml + "/input/data/\(name)"))
                environment["SM_CHANNEL_\(name.uppercased().replacingOccurrences(of: "-", with: "_"))"] = "/opt/ml/input/data/\(name)"
            }
            folders += ["input/config", "model", "output/data"]
            let channels = JSONValue.array(spec.inputs.keys.sorted().map { .string($0) })
            let hps = JSONValue.object(Dictionary(spec.hyperparameters.map { ($0.0, JSONValue.string($0.1)) }, uniquingKeysWith: { $1 }))
            environment["SM_CHANNELS"] = channels.serialized()
            environment["SM_HPS"] = hps.serialized()
            environment["SM_MODEL_DIR"] = "/opt/ml/model"
            environment["SM_OUTPUT_DATA_DIR"] = "/opt/ml/output/data"
            environment["SM_INPUT_DIR"] = "/opt/ml/input"
            environment["SM_INPUT_CONFIG_DIR"] = "/opt/ml/input/config"
            arguments += spec.hyperparameters.flatMap { ["--\($0.0)", $0.1] }
            hyperparameters = hps
        }
        for folder in folders { try manager.createDirectory(atPath: ml + "/" + folder, withIntermediateDirectories: true) }
        if let hyperparameters {
            try Data(hyperparameters.serializedBytes(pretty: true)).write(to: URL(fileURLWithPath: ml + "/input/config/hyperparameters.json"))
        }

        // Only the interpreter, the code, the inputs and the job's own /opt/ml: no home, no registry.
        var sandbox = Sandbox.isolated(reading: Sandbox.interpreterFolders(spec.python), network: spec.network)
        sandbox.mounts += [.temporary(at: "/opt"), .writable(ml, at: "/opt/ml"), .readOnly(spec.codePath, at: "/opt/ml/code")] + binds
        if spec.kind == .processing { sandbox.mounts.append(.readOnly(spec.codePath, at: "/opt/ml/processing/input/code")) }
        sandbox.workingDirectory = spec.kind == .processing ? "/opt/ml/tmp" : "/opt/ml/code"
        sandbox.limits = ResourceLimits(memoryBytes: spec.resources.memoryBytes, cpus: spec.resources.cpus, processes: spec.resources.processes)
        parts = Parts(sandbox: sandbox, environment: environment, arguments: arguments)
    }

    /// A read-only bind of an input: a folder onto the destination folder, a file into it
    /// (under its own name, over an empty placeholder).
    static func bind(_ host: String, at destination: String, placeholderIn folder: String) throws -> Sandbox.Mount {
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: host, isDirectory: &isFolder) else {
            throw JobFailure(error: "Job.Failed", cause: "input '\(host)' does not exist")
        }
        if isFolder.boolValue { return .readOnly(host, at: destination) }
        let name = (host as NSString).lastPathComponent
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        guard FileManager.default.createFile(atPath: folder + "/" + name, contents: Data()) else {
            throw JobFailure(error: "Job.Failed", cause: "cannot create the placeholder '\(folder)/\(name)' for input '\(host)'; check the disk")
        }
        return .readOnly(host, at: destination + "/" + name)
    }
}
