import Foundation
import Home
import Jobs
import Registry

/// The real launcher: `slipway_worker.py` as a long-lived child of the process layer
/// (`Sandbox.withChild`), in the bubblewrap `Sandbox` that stage jobs share: an
/// unprivileged user with no capabilities, only the interpreter, the code and the model
/// read-only at `/opt/ml/code` and `/opt/ml/model`, a writable `/opt/ml/tmp`, no network;
/// the serve stage's memory limit, a process cap and one CPU's quota for the worker's
/// whole tree (a control group, ended with the worker); its stderr appended to the
/// variant's log. Frames go to its stdin and come from its stdout.
struct SandboxWorkerLauncher: WorkerLauncher {
    /// A worker that dies must not take the agent with it: writing to its closed pipe fails
    /// with EPIPE instead of raising SIGPIPE.
    private static let ignoreBrokenPipes: Void = { signal(SIGPIPE, SIG_IGN) }()

    func withWorker(_ spec: WorkerSpec, id: String, clock: ServingClock, grace: Duration,
                    _ body: @escaping @Sendable (any WorkerConnection) async throws -> Void) async throws {
        Self.ignoreBrokenPipes
        let (sandbox, environment) = Self.sandbox(spec)
        try await sandbox.withChild(spec.python, ["/opt/slipway/slipway_worker.py"], environment: environment, name: "worker-" + id,
                                    errorLog: spec.logFile, grace: grace) { child in
            let connection = ChildConnection(child)
            let failure: (any Error)?
            do {
                try await body(connection)
                failure = nil
            } catch {
                failure = error
            }
            // The worker exits once it reads the end of its input; past `grace` it is killed.
            try? await child.closeInput()
            _ = await clock.deadline(grace, onTimeout: { connection.kill() }) { await connection.readToEnd() }
            if let failure { throw failure }
        }
    }

    /// The worker's sandbox and environment.
    static func sandbox(_ spec: WorkerSpec) -> (Sandbox, [String: String]) {
        var sandbox = Sandbox.isolated(reading: Sandbox.interpreterFolders(spec.python))
        sandbox.mounts += [.temporary(at: "/opt"), .temporary(at: "/opt/ml/tmp"), .readOnly(spec.code, at: "/opt/ml/code"),
                           .readOnly(spec.modelFolder, at: "/opt/ml/model"), .readOnly(spec.workerScript, at: "/opt/slipway/slipway_worker.py")]
        sandbox.workingDirectory = "/opt/ml/code"
        sandbox.limits = ResourceLimits(memoryBytes: spec.memoryBytes, cpus: 1)
        let environment = [
            "PATH": "/usr/local/bin:/usr/bin:/bin", "PYTHONUNBUFFERED": "1", "PYTHONDONTWRITEBYTECODE": "1", "HOME": "/opt/ml/tmp", "TMPDIR": "/opt/ml/tmp",
            "SAGEMAKER_PROGRAM": spec.script, "SM_MODEL_DIR": "/opt/ml/model", "SLIPWAY_CODE_DIR": "/opt/ml/code",
            "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
        ]
        return (sandbox, environment)
    }
}

/// A worker child's pipes as frames. Only the worker's own task exchanges, one frame at a
/// time, so the reader is never used by two tasks at once.
private final class ChildConnection: WorkerConnection, @unchecked Sendable {
    let pid: Int32
    private let child: ChildProcess
    private var reader: ChildOutput.Reader

    init(_ child: ChildProcess) {
        self.child = child
        pid = child.pid
        reader = ChildOutput.Reader(child.output)
    }

    func exchange(_ frame: WorkerFrame?) async -> WorkerFrame? {
        if let frame {
            do { try await child.write(frame.encoded) } catch { return nil }
        }
        do { return try await readFrame() } catch { return nil }
    }

    /// The next frame: a 4-byte big-endian header length, the JSON header, `length` bytes of body.
    private func readFrame() async throws -> WorkerFrame? {
        guard let prefix = try await reader.read(exactly: 4) else { return nil }
        let count = WorkerFrame.headerLength(prefix)
        guard count <= WorkerFrame.maxHeaderBytes, let text = try await reader.read(exactly: count), let header = try? JSONValue(parsing: text) else {
            return nil
        }
        let length = Int(header["length"]?.intValue ?? 0)
        guard length >= 0 else { return nil }
        guard length > 0 else { return WorkerFrame(header: header) }
        guard let body = try await reader.read(exactly: length) else { return nil }
        return WorkerFrame(header: header, body: body)
    }

    /// Reads (and drops) what the worker still writes, until it closes its output.
    func readToEnd() async {
        while (try? await reader.read(exactly: 1)) ?? nil != nil {}
    }

    func kill() { try? child.send(signal: SIGKILL, toGroup: true) }
}
