import Foundation
import Home

/// Runs jobs on this machine in a bubblewrap sandbox that makes SageMaker's container
/// layout real: the artifact read-only at `/opt/ml/code` (and, for processing jobs, at
/// `/opt/ml/processing/input/code`), inputs read-only, a fresh writable `/opt/ml`, the
/// rest of the machine read-only, no network unless the stage asks. The stage's limits
/// hold: the timeout ends the whole process group (SIGTERM, then SIGKILL), memory is an
/// address-space limit (a script past it fails with "out of memory: limit ..."), and
/// `cpus` pins the job to that many CPUs (`taskset`, rounded up) and sets the thread
/// counts numeric libraries use. Training jobs start in `/opt/ml/code`, as in SageMaker's
/// script mode; processing jobs start in a writable scratch folder, `/opt/ml/tmp`, since
/// processing scripts often unpack a model into the folder they start in.
///
/// A job's work folder is `folder/ID`; its output streams to `folder/ID/output.log`.
package struct LocalSandboxBackend: JobBackend {
    /// Where job work folders go (`HOME/jobs`).
    package let folder: String
    /// The environment the agent passes on to every job, under the job's own variables.
    package let baseEnvironment: [String: String]
    /// How long a job has between SIGTERM and SIGKILL once its timeout passed.
    package var grace: Duration = .seconds(5)

    /// A back-end whose work folders go in `folder`; jobs see this process's environment
    /// plus their own variables unless `baseEnvironment` says otherwise.
    package init(folder: String, baseEnvironment: [String: String] = ProcessSpec.inheritedEnvironment) {
        self.folder = folder
        self.baseEnvironment = baseEnvironment
    }

    /// The most CPUs a job may ask for: a larger count is a mistake, refused as `Job.Failed`.
    package static let maximumCPUs = 4096

    /// `folder/ID/output.log`.
    package func logPath(id: String) -> String { folder + "/" + id + "/output.log" }

    /// Runs `spec` in the sandbox; training jobs' models are packaged as `model.tar.gz`.
    package func run(_ spec: JobSpec, id: String) async throws(JobFailure) -> JobResult {
        try spec.checkSafe(id: id)  // before the work folder is removed or made
        let work = folder + "/" + id
        let log = logPath(id: id)
        let cpus = spec.resources.cpus
        guard cpus.isFinite, cpus > 0, cpus <= Double(Self.maximumCPUs) else {
            throw JobFailure(error: "Job.Failed", cause: """
                the \(spec.stage) job cannot start: resources.cpus is \(cpus), not a count of CPUs between 0 and \(Self.maximumCPUs); \
                set stages.\(spec.stage).resources.cpus to 1, say
                """)
        }
        let layout = try SageMakerLayout(spec, work: work)
        let command = layout.sandbox.processSpec(
            spec.python, ["/opt/ml/code/" + spec.script] + layout.arguments,
            environment: baseEnvironment.merging(layout.environment) { $1 })
        let result: ProcessResult
        do {
            result = try await Processes.run(command, log: log, timeout: .seconds(spec.resources.timeoutSeconds), grace: grace)
        } catch {
            throw JobFailure(error: "Job.Failed", cause: "\(error)", logPath: log)
        }
        if result.timedOut {
            throw JobFailure(
                error: "States.Timeout", cause: "\(spec.stage) ran past its timeout of \(spec.resources.timeoutSeconds) s and was stopped",
                status: result.status, logPath: log)
        }
        guard result.status == 0 else {
            let tail = result.output.split(separator: "\n", omittingEmptySubsequences: false).suffix(15).joined(separator: "\n")
            if result.output.contains("MemoryError") || result.output.contains("Cannot allocate memory") || result.output.contains("std::bad_alloc") {
                throw JobFailure(
                    error: "Job.OutOfMemory",
                    cause: "out of memory: limit \(Self.size(spec.resources.memoryBytes)) for \(spec.stage); raise stages.\(spec.stage).resources.memory\n\(tail)",
                    status: result.status, logPath: log)
            }
            throw JobFailure(error: "Job.Failed", cause: "\(spec.script) exited with status \(result.status):\n\(tail)", status: result.status, logPath: log)
        }
        var archive: String?
        if spec.kind == .training {
            let path = work + "/model.tar.gz"
            try await Self.package(layout.ml + "/model", into: path, logPath: log)
            archive = path
        }
        return JobResult(
            folder: layout.ml, outputs: Dictionary(uniqueKeysWithValues: spec.outputs.map { ($0, layout.ml + "/processing/" + $0) }),
            modelArchive: archive, log: result.output, logPath: log, status: result.status)
    }

    /// `tar -czf ARCHIVE -C FOLDER .`
    static func package(_ folder: String, into archive: String, logPath: String) async throws(JobFailure) {
        let tar: ProcessResult
        do {
            tar = try await Processes.run(ProcessSpec("/bin/tar", ["-czf", archive, "-C", folder, "."], environment: ["PATH": "/usr/bin:/bin"]))
        } catch {
            throw JobFailure(error: "Job.Failed", cause: "packaging the model failed: \(error)", logPath: logPath)
        }
        guard tar.succeeded else {
            throw JobFailure(error: "Job.Failed", cause: "packaging the model in '\(folder)' failed: \(tar.output)", status: tar.status, logPath: logPath)
        }
    }

    /// `512MiB`, `2GiB`: how limits print.
    static func size(_ bytes: Int64) -> String {
        if bytes % (1 << 30) == 0 { return "\(bytes >> 30)GiB" }
        if bytes % (1 << 20) == 0 { return "\(bytes >> 20)MiB" }
        return "\(bytes) bytes"
    }
}
