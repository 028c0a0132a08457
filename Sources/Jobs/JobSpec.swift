import Home

/// One SageMaker-style job: a stage's script run in its artifact and environment.
package struct JobSpec: Sendable {
    /// Processing jobs (preprocess, evaluate) see `/opt/ml/processing/...`; training jobs
    /// see channels under `/opt/ml/input/data` and write `/opt/ml/model`.
    package enum Kind: String, Sendable, Codable { case processing, training }

    /// Processing or training.
    package var kind: Kind
    /// The stage (for messages and the work folder's name).
    package var stage: String
    /// The artifact's code folder (mounted read-only at `/opt/ml/code`).
    package var codePath: String
    /// The script, relative to the code folder.
    package var script: String
    /// The interpreter of the stage's environment.
    package var python: String
    /// The script's arguments (before the hyperparameters' `--name value` pairs).
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
    /// The stage's limits.
    package var resources: JobResources
    /// Whether the job may use the network (off unless the stage asks).
    package var network = false

    /// A job with no inputs, outputs or arguments yet.
    package init(kind: Kind, stage: String, codePath: String, script: String, python: String, resources: JobResources) {
        self.kind = kind
        self.stage = stage
        self.codePath = codePath
        self.script = script
        self.python = python
        self.resources = resources
    }
}

/// A job's limits: the stage's `resources` in `slipway.yaml`. They hold for the job's
/// whole process tree (a control group; see `ControlGroup`).
package struct JobResources: Sendable, Equatable {
    /// CPUs' worth of time the job may use (a CPU quota), and the numeric libraries' thread counts.
    package var cpus: Double
    /// The most memory the job's processes may hold together.
    package var memoryBytes: Int64
    /// Seconds before the job's process tree is ended.
    package var timeoutSeconds: Int
    /// How many processes and threads the job may have at once.
    package var processes: Int

    /// Limits; the defaults are `slipway.yaml`'s.
    package init(cpus: Double = 1, memoryBytes: Int64 = 2 << 30, timeoutSeconds: Int = 30 * 60,
                 processes: Int = ResourceLimits.defaultProcesses) {
        self.cpus = cpus
        self.memoryBytes = memoryBytes
        self.timeoutSeconds = timeoutSeconds
        self.processes = processes
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
    /// The end of the job's combined output (the whole of it is at `logPath`, up to its cap).
    package var log: String
    /// The job's output file.
    package var logPath: String
    /// The script's exit status (0).
    package var status: Int32
    /// The most memory the job's process tree held at once (nil when no control group measured it).
    package var peakMemoryBytes: Int64?

    /// A result; `logPath` defaults to `output.log` beside the work folder.
    package init(folder: String, outputs: [String: String], modelArchive: String?, log: String, logPath: String? = nil, status: Int32 = 0,
                 peakMemoryBytes: Int64? = nil) {
        self.peakMemoryBytes = peakMemoryBytes
        self.folder = folder
        self.outputs = outputs
        self.modelArchive = modelArchive
        self.log = log
        self.logPath = logPath ?? (folder.hasSuffix("/ml") ? String(folder.dropLast(3)) : folder) + "/output.log"
        self.status = status
    }
}

/// Why a job failed, in words for the execution's error cause.
package struct JobFailure: Error, Sendable, CustomStringConvertible {
    /// `Job.Failed`, `States.Timeout` or `Job.OutOfMemory`.
    package var error: String
    /// What happened, with the offending value and what to do.
    package var cause: String
    /// The script's exit status, when it ran.
    package var status: Int32?
    /// The job's output file, when it has one.
    package var logPath: String?
    /// The most memory the job's process tree held at once, when measured.
    package var peakMemoryBytes: Int64?

    /// A failure.
    package init(error: String, cause: String, status: Int32? = nil, logPath: String? = nil, peakMemoryBytes: Int64? = nil) {
        self.peakMemoryBytes = peakMemoryBytes
        self.error = error
        self.cause = cause
        self.status = status
        self.logPath = logPath
    }

    /// "Job.Failed: train.py exited with status 3: ..."
    package var description: String { "\(error): \(cause)" }
}

/// Where stage jobs run: the seam between the pipelines and the compute. The local
/// back-end runs each job in a bubblewrap sandbox on this machine; a Ray cluster's job
/// API fits behind the same two calls.
package protocol JobBackend: Sendable {
    /// Runs one stage job to its end under `id` (unique per execution and stage), and
    /// returns its outputs; a script that fails, times out or runs out of memory is a
    /// `JobFailure` with the cause a person needs.
    func run(_ spec: JobSpec, id: String) async throws(JobFailure) -> JobResult

    /// Where job `id`'s combined output is written while it runs, so that it can be
    /// followed (`slipway logs --follow`).
    func logPath(id: String) -> String
}

/// Job ids: one per execution and stage.
package enum JobID {
    /// The id (and local work folder name) of an execution's job for `stage`.
    package static func of(execution: String, stage: String) -> String { "\(execution)-\(stage)" }
}
