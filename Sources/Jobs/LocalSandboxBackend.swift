import Foundation
import Home

/// Runs jobs on this machine in the bubblewrap `Sandbox` (an unprivileged user with no
/// capabilities, its own pid, ipc, uts and network namespaces), which makes SageMaker's
/// container layout real and holds nothing else: the interpreter read-only, the artifact
/// read-only at `/opt/ml/code` (and, for processing jobs, at `/opt/ml/processing/input/code`),
/// inputs read-only, a fresh writable `/opt/ml`, a private `/tmp`; no network unless the
/// stage asks. The stage's limits hold for the job's whole process tree, in a control
/// group: memory (a tree past it fails with "out of memory: limit ..."), processes, and a
/// CPU quota (`cpus`, which also sets the thread counts numeric libraries use). The
/// timeout ends the whole tree (SIGTERM, then SIGKILL); when the job ends, whatever it
/// started (a `setsid` daemon, say) is killed with it. Training jobs start in
/// `/opt/ml/code`, as in SageMaker's script mode; processing jobs start in a writable
/// scratch folder, `/opt/ml/tmp`, since processing scripts often unpack a model into the
/// folder they start in.
///
/// A job's work folder is `folder/ID`; its output streams to `folder/ID/output.log`, up
/// to 64 MiB, then a truncation line; the log starts with how the limits are held and
/// ends with the tree's peak memory.
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

    /// `folder/ID/output.log`.
    package func logPath(id: String) -> String { folder + "/" + id + "/output.log" }

    /// Runs `spec` in the sandbox; training jobs' models are packaged as `model.tar.gz`.
    package func run(_ spec: JobSpec, id: String) async throws(JobFailure) -> JobResult {
        try spec.checkSafe(id: id)  // before the work folder is removed or made
        let work = folder + "/" + id
        let log = logPath(id: id)
        let layout = try SageMakerLayout(spec, work: work)
        let result: SandboxResult
        do {
            result = try await layout.sandbox.run(
                spec.python, ["/opt/ml/code/" + spec.script] + layout.arguments, environment: baseEnvironment.merging(layout.environment) { $1 },
                name: "job-" + id, log: log, timeout: .seconds(spec.resources.timeoutSeconds), grace: grace)
        } catch {
            throw JobFailure(error: "Job.Failed", cause: "\(error)", logPath: log)
        }
        let peak = result.peakMemoryBytes.map { "peak memory \(ResourceLimits.size($0)) of \(ResourceLimits.size(spec.resources.memoryBytes))" }
        Self.append([peak, result.leftovers > 0 ? "\(result.leftovers) processes still running when the job ended were killed" : nil]
            .compactMap { $0 }, to: log)
        let process = result.process
        if process.timedOut {
            throw JobFailure(
                error: "States.Timeout", cause: "\(spec.stage) ran past its timeout of \(spec.resources.timeoutSeconds) s and was stopped",
                status: process.status, logPath: log)
        }
        let tail = process.output.split(separator: "\n", omittingEmptySubsequences: false).suffix(15).joined(separator: "\n")
        // A process the kernel killed for memory fails the job even when the script carried on.
        if result.outOfMemoryKills > 0 || (process.status != 0 && result.memoryLimitReached) {
            throw JobFailure(
                error: "Job.OutOfMemory",
                cause: "out of memory: limit \(Self.size(spec.resources.memoryBytes)) for \(spec.stage)\(peak.map { " (\($0))" } ?? "")"
                    + (result.outOfMemoryKills > 0 ? ", \(result.outOfMemoryKills) processes killed" : "")
                    + "; raise stages.\(spec.stage).resources.memory\n\(tail)",
                status: process.status, logPath: log, peakMemoryBytes: result.peakMemoryBytes)
        }
        guard process.status == 0 else {
            if process.output.contains("MemoryError") || process.output.contains("Cannot allocate memory")
                || process.output.contains("std::bad_alloc") {
                throw JobFailure(
                    error: "Job.OutOfMemory",
                    cause: "out of memory: limit \(Self.size(spec.resources.memoryBytes)) for \(spec.stage)\(peak.map { " (\($0))" } ?? ""); "
                        + "raise stages.\(spec.stage).resources.memory\n\(tail)",
                    status: process.status, logPath: log, peakMemoryBytes: result.peakMemoryBytes)
            }
            throw JobFailure(error: "Job.Failed", cause: "\(spec.script) exited with status \(process.status):\n\(tail)", status: process.status, logPath: log)
        }
        var archive: String?
        if spec.kind == .training {
            let path = work + "/model.tar.gz"
            try await Self.package(layout.ml + "/model", into: path, logPath: log)
            archive = path
        }
        return JobResult(
            folder: layout.ml, outputs: Dictionary(uniqueKeysWithValues: spec.outputs.map { ($0, layout.ml + "/processing/" + $0) }),
            modelArchive: archive, log: result.process.output, logPath: log, status: result.process.status, peakMemoryBytes: result.peakMemoryBytes)
    }

    /// Appends `[slipway: LINE]` lines to the job's log (a failure to is left: the log is for people).
    static func append(_ lines: [String], to log: String) {
        guard !lines.isEmpty, let handle = FileHandle(forWritingAtPath: log) else { return }
        defer { try? handle.close() }
        _ = try? handle.seekToEnd()
        try? handle.write(contentsOf: Data(lines.map { "[slipway: \($0)]\n" }.joined().utf8))
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
    static func size(_ bytes: Int64) -> String { ResourceLimits.size(bytes) }
}
