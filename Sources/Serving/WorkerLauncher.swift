/// Starts worker processes: the seam between a pool and the operating system. The real one
/// runs `slipway_worker.py` in the sandbox (``SandboxWorkerLauncher``); tests use one that
/// answers in memory.
protocol WorkerLauncher: Sendable {
    /// Runs one worker for `spec` and calls `body` with its connection. When `body` returns
    /// or throws, the worker's input is closed; it has `grace` to exit before it is killed,
    /// and this returns once it has exited.
    func withWorker(_ spec: WorkerSpec, id: String, clock: ServingClock, grace: Duration,
                    _ body: @escaping @Sendable (any WorkerConnection) async throws -> Void) async throws
}

/// A running worker: frames go in, frames come out, one exchange at a time.
protocol WorkerConnection: Sendable {
    /// The worker's process id (its process group's too).
    var pid: Int32 { get }
    /// Sends `frame` (nil: none) and returns the worker's next frame; nil when the worker
    /// exited (or was killed) before answering.
    func exchange(_ frame: WorkerFrame?) async -> WorkerFrame?
    /// Kills the worker's process group now; an exchange under way returns nil.
    func kill()
}
