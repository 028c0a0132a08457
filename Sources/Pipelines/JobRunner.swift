import ArtifactBuilder
import Foundation
import JSON

/// One SageMaker-style job: a stage's script run in its artifact and environment.
package struct JobSpec: Sendable {
    /// Processing jobs (preprocess, evaluate) see `/opt/ml/processing/...`; training jobs
    /// see channels under `/opt/ml/input/data` and write `/opt/ml/model`.
    package enum Kind: String, Sendable { case processing, training }

    package var kind: Kind
    /// The stage (for messages and the work folder's name).
    package var stage: String
    /// The artifact's code folder (mounted read-only at `/opt/ml/code`).
    package var codePath: String
    /// The script, relative to the code folder.
    package var script: String
    /// The interpreter of the stage's environment.
    package var python: String
    package var arguments: [String] = []
    /// Training hyperparameters: `--name value` arguments and `hyperparameters.json`.
    package var hyperparameters: [(String, String)] = []
    /// Inputs by name → host path (processing: `/opt/ml/processing/input/NAME`, or
    /// `/opt/ml/processing/NAME` for names in `processingDestinations`; training: channels).
    package var inputs: [String: String] = [:]
    /// Processing inputs mounted at `/opt/ml/processing/NAME` instead (evaluation's `model`, `test`).
    package var processingDestinations: Set<String> = []
    /// Processing outputs, written under `/opt/ml/processing/NAME`.
    package var outputs: [String] = []
    package var resources: Resources
    package var network = false

    package init(kind: Kind, stage: String, codePath: String, script: String, python: String, resources: Resources) {
        self.kind = kind
        self.stage = stage
        self.codePath = codePath
        self.script = script
        self.python = python
        self.resources = resources
    }
}

/// What a finished job left.
package struct JobResult: Sendable {
    /// The job's work folder (its `/opt/ml`).
    package var folder: String
    /// Processing outputs by name → host folder.
    package var outputs: [String: String]
    /// Training: the packaged model, `model.tar.gz`.
    package var modelArchive: String?
    /// The job's combined output.
    package var log: String
}

/// Why a job failed, in words for the execution's error cause.
package struct JobFailure: Error, Sendable, CustomStringConvertible {
    /// `Job.Failed`, `States.Timeout` or `Job.OutOfMemory`.
    package var error: String
    package var cause: String
    package var description: String { "\(error): \(cause)" }
}

/// Runs jobs in a bubblewrap sandbox that makes SageMaker's container layout real: the
/// artifact read-only at `/opt/ml/code` (and, for processing jobs, at
/// `/opt/ml/processing/input/code`), inputs read-only, a fresh writable `/opt/ml`, the
/// rest of the machine read-only, no network unless the stage asks. The stage's limits
/// hold: the timeout kills the whole process group, memory is an address-space limit (a
/// script past it fails with "out of memory: limit ..."), and `cpus` pins the job to that
/// many CPUs (`taskset`, rounded up) and sets the thread counts numeric libraries use.
/// Training jobs start in `/opt/ml/code`, as in SageMaker's script mode; processing jobs
/// start in a writable scratch folder, `/opt/ml/tmp`, since processing scripts often
/// unpack a model into the folder they start in.
package struct JobRunner: Sendable {
    /// Where job work folders go (`HOME/jobs`).
    package let folder: String

    package init(folder: String) { self.folder = folder }

    /// The work folder's name of an execution's job for `stage` (its output is `NAME/output.log`).
    package static func folderName(execution: String, stage: String) -> String { "\(execution)-\(stage)" }

    package func run(_ spec: JobSpec, id: String) throws -> JobResult {
        let work = folder + "/" + id
        let ml = work + "/ml"
        let manager = FileManager.default
        try? manager.removeItem(atPath: work)
        var binds: [String] = []
        var environment: [String: String] = [
            "PYTHONDONTWRITEBYTECODE": "1", "PYTHONUNBUFFERED": "1", "TMPDIR": "/opt/ml/tmp", "HOME": "/opt/ml/tmp",
            "SM_NUM_CPUS": "\(min(max(1, Int(spec.resources.cpus.rounded(.up))), ProcessInfo.processInfo.activeProcessorCount))", "SM_CURRENT_HOST": "algo-1", "SM_HOSTS": #"["algo-1"]"#,
        ]
        for variable in ["OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS"] {
            environment[variable] = environment["SM_NUM_CPUS"]
        }
        var folders = ["tmp", "code"]
        var arguments = spec.arguments
        var hyperparameters: JSONValue?
        switch spec.kind {
        case .processing:
            for (name, host) in spec.inputs.sorted(by: { $0.key < $1.key }) {
                let inside = spec.processingDestinations.contains(name) ? "processing/\(name)" : "processing/input/\(name)"
                folders.append(inside)
                binds += try Self.bind(host, at: "/opt/ml/" + inside, placeholderIn: ml + "/" + inside)
            }
            folders += spec.outputs.map { "processing/\($0)" } + ["processing/input/code"]
        case .training:
            for (name, host) in spec.inputs.sorted(by: { $0.key < $1.key }) {
                folders.append("input/data/\(name)")
                binds += try Self.bind(host, at: "/opt/ml/input/data/\(name)", placeholderIn: ml + "/input/data/\(name)")
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

        let sandbox = ["--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--tmpfs", "/opt", "--bind", ml, "/opt/ml",
                       "--ro-bind", spec.codePath, "/opt/ml/code"] + binds
            + (spec.kind == .processing ? ["--ro-bind", spec.codePath, "/opt/ml/processing/input/code"] : [])
            + (spec.network ? [] : ["--unshare-net"])
            + ["--die-with-parent", "--chdir", spec.kind == .processing ? "/opt/ml/tmp" : "/opt/ml/code", "--", spec.python, "/opt/ml/code/" + spec.script]
            + arguments
        let limited = ["--as=\(spec.resources.memoryBytes)", "--"] + Self.pinning(cpus: spec.resources.cpus) + ["/usr/bin/bwrap"] + sandbox
        let result = try Command.run("/usr/bin/prlimit", limited, environment: environment, timeout: Double(spec.resources.timeoutSeconds),
                                     outputFile: work + "/output.log")

        if result.timedOut {
            throw JobFailure(error: "States.Timeout", cause: "\(spec.stage) ran past its timeout of \(spec.resources.timeoutSeconds) s and was stopped")
        }
        guard result.status == 0 else {
            let tail = result.output.split(separator: "\n", omittingEmptySubsequences: false).suffix(15).joined(separator: "\n")
            if result.output.contains("MemoryError") || result.output.contains("Cannot allocate memory") || result.output.contains("std::bad_alloc") {
                throw JobFailure(error: "Job.OutOfMemory", cause: "out of memory: limit \(Self.size(spec.resources.memoryBytes)) for \(spec.stage); raise stages.\(spec.stage).resources.memory\n\(tail)")
            }
            throw JobFailure(error: "Job.Failed", cause: "\(spec.script) exited with status \(result.status):\n\(tail)")
        }
        var archive: String?
        if spec.kind == .training {
            archive = work + "/model.tar.gz"
            let tar = try Command.run("/bin/tar", ["-czf", archive!, "-C", ml + "/model", "."])
            guard tar.succeeded else { throw JobFailure(error: "Job.Failed", cause: "packaging the model failed: \(tar.output)") }
        }
        return JobResult(folder: ml, outputs: Dictionary(uniqueKeysWithValues: spec.outputs.map { ($0, ml + "/processing/" + $0) }),
                         modelArchive: archive, log: result.output)
    }

    /// A read-only bind of an input: a folder onto the destination folder, a file into it
    /// (under its own name, over an empty placeholder).
    static func bind(_ host: String, at destination: String, placeholderIn folder: String) throws -> [String] {
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: host, isDirectory: &isFolder) else {
            throw JobFailure(error: "Job.Failed", cause: "input '\(host)' does not exist")
        }
        if isFolder.boolValue { return ["--ro-bind", host, destination] }
        let name = (host as NSString).lastPathComponent
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        _ = FileManager.default.createFile(atPath: folder + "/" + name, contents: Data())
        return ["--ro-bind", host, destination + "/" + name]
    }

    /// `taskset` arguments that keep a job on `ceil(cpus)` of the CPUs this process may use
    /// (none when it may use all of them anyway).
    static func pinning(cpus: Double) -> [String] {
        // "Cpus_allowed_list:\t0-3,6" in /proc/self/status: the CPUs this process may use.
        let status = (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8)) ?? ""
        let list = status.split(separator: "\n").first { $0.hasPrefix("Cpus_allowed_list:") }?.split(separator: "\t").last ?? ""
        let usable = list.split(separator: ",").flatMap { range -> [Int] in
            let ends = range.split(separator: "-").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
            guard let first = ends.first else { return [] }
            return Array(first...(ends.last ?? first))
        }
        let wanted = max(1, Int(cpus.rounded(.up)))
        guard wanted < usable.count, FileManager.default.isExecutableFile(atPath: "/usr/bin/taskset") else { return [] }
        return ["/usr/bin/taskset", "--cpu-list", usable.prefix(wanted).map(String.init).joined(separator: ",")]
    }

    /// `512MiB`, `2GiB`: how limits print.
    static func size(_ bytes: Int64) -> String {
        if bytes % (1 << 30) == 0 { return "\(bytes >> 30)GiB" }
        if bytes % (1 << 20) == 0 { return "\(bytes >> 20)MiB" }
        return "\(bytes) bytes"
    }
}
