import Registry
import Synchronization

/// One worker of a pool: a process that loads the model, then serves one request at a time.
/// Its lifetime is `run`, a child task of the manager's group; requests reach it through
/// an `AsyncStream` of jobs. A request's timeout starts when the worker takes it; a request
/// no worker takes within the queue timeout gives up.
final class Worker: Sendable {
    let id: String
    private let spec: WorkerSpec
    private let jobs: AsyncStream<WorkerJob>
    private let submit: AsyncStream<WorkerJob>.Continuation
    private struct State {
        var closed = false
        var pending: [ObjectIdentifier: WorkerJob] = [:]
        var connection: (any WorkerConnection)?
        var killed = false
    }
    private let state = Mutex(State())
    /// The worker's process id once it has loaded its model and answered a ping, or why it did not.
    let ready = Promise<Result<Int32, WorkerError>>()
    /// Set when the worker's process has ended and `run` returned.
    let exited = Promise<Void>()

    init(id: String, spec: WorkerSpec) {
        self.id = id
        self.spec = spec
        (jobs, submit) = AsyncStream.makeStream(of: WorkerJob.self)
    }

    /// Whether the worker's process still runs (or is starting).
    var isAlive: Bool { exited.current == nil }

    /// Runs the worker until `stop`, a timeout, the process's exit or cancellation: starts
    /// it, waits up to `healthTimeout` for its model to load and a ping's answer, then takes
    /// the queued requests one by one.
    func run(launcher: any WorkerLauncher, clock: ServingClock, limits: WorkerLimits, healthTimeout: Duration) async {
        do {
            try await launcher.withWorker(spec, id: id, clock: clock, grace: limits.stopGrace) { connection in
                try await self.serve(connection, clock: clock, limits: limits, healthTimeout: healthTimeout)
            }
        } catch let error as WorkerError {
            ready.fulfil(.failure(error))
        } catch {
            ready.fulfil(.failure(WorkerError("worker '\(id)' failed: \(error)")))
        }
        ready.fulfil(.failure(WorkerError("worker '\(id)' stopped before it was ready")))
        let left = state.withLock { state -> [WorkerJob] in
            state.closed = true
            state.connection = nil
            defer { state.pending.removeAll() }
            return Array(state.pending.values)
        }
        submit.finish()
        for job in left { job.abandonIfQueued(.failure(WorkerError("worker '\(id)' has stopped"))) }
        exited.fulfil(())
    }

    private func serve(_ connection: any WorkerConnection, clock: ServingClock, limits: WorkerLimits, healthTimeout: Duration) async throws {
        let killed = state.withLock { state in
            state.connection = connection
            return state.killed
        }
        if killed { connection.kill() }
        let started = clock.now()
        let (loaded, late) = await clock.deadline(healthTimeout, onTimeout: { connection.kill() }) { await connection.exchange(nil) }
        guard let loaded, loaded.header["ready"] == true else {
            let why = late ? "it did not load its model within \(healthTimeout)" : loaded?.header["error"]?.stringValue ?? "the worker exited"
            throw WorkerError("the model did not load: \(why)")
        }
        let left = max(healthTimeout - (clock.now() - started), .seconds(1))
        let (pong, _) = await clock.deadline(left, onTimeout: { connection.kill() }) { await connection.exchange(WorkerFrame(header: ["op": "ping"])) }
        guard let pong, pong.header["status"] == 200 else {
            throw WorkerError("ping failed: \(pong?.header.serialized() ?? "no answer within \(healthTimeout)")")
        }
        ready.fulfil(.success(connection.pid))
        for await job in jobs {
            guard take(job) else { continue }
            let (answer, timedOut) = await clock.deadline(limits.requestTimeout, onTimeout: { connection.kill() }) {
                await connection.exchange(job.frame)
            }
            if timedOut {
                job.finish(.failure(WorkerError("no answer within \(limits.requestTimeout); the worker was stopped", timedOut: true)))
                return
            }
            guard let answer else {
                job.finish(.failure(WorkerError("the worker exited (see its log)")))
                return
            }
            job.finish(.success(answer))
        }
    }

    private func take(_ job: WorkerJob) -> Bool {
        state.withLock { state in
            state.pending[ObjectIdentifier(job)] = nil
            return job.take()
        }
    }

    /// Sends one request to the model and returns its answer: 504 when the model took past
    /// the request timeout (the worker is killed), 503 when no worker took it in time, 500 when
    /// the worker exited.
    func invoke(_ invocation: Invocation, clock: ServingClock, limits: WorkerLimits) async -> InvocationResult {
        let header: JSONValue = ["op": "invoke", "content_type": .string(invocation.contentType), "accept": .string(invocation.accept),
                                 "length": .int(Int64(invocation.body.count))]
        switch await exchange(WorkerFrame(header: header, body: invocation.body), clock: clock, queueTimeout: limits.queueTimeout) {
        case .success(let answer):
            let status = Int(answer.header["status"]?.intValue ?? 500)
            if status == 200 {
                return InvocationResult(status: 200, contentType: answer.header["content_type"]?.stringValue ?? "application/json", body: answer.body)
            }
            return .failure(status, answer.header["error"]?.stringValue ?? "the model failed", .answered(status))
        case .failure(let error):
            if error.timedOut { return .failure(504, error.message, .timedOut) }
            if error.busy { return .failure(503, error.message, .busy) }
            return .failure(500, error.message, .workerLost)
        }
    }

    /// Queues `frame` and waits for the answer, giving up if no one takes it within `queueTimeout`.
    func exchange(_ frame: WorkerFrame, clock: ServingClock, queueTimeout: Duration) async -> Result<WorkerFrame, WorkerError> {
        let job = WorkerJob(frame)
        let queued = state.withLock { state -> Bool in
            guard !state.closed else { return false }
            state.pending[ObjectIdentifier(job)] = job
            return true
        }
        guard queued, case .enqueued = submit.yield(job) else { return .failure(WorkerError("worker '\(id)' has stopped")) }
        let id = self.id
        let (result, _) = await clock.deadline(queueTimeout, onTimeout: {
            job.abandonIfQueued(.failure(WorkerError("worker '\(id)' was busy for \(queueTimeout); retry, or allow more workers", busy: true)))
        }) { await job.wait() }
        state.withLock { $0.pending[ObjectIdentifier(job)] = nil }
        return result
    }

    /// Takes no new request: the worker answers those queued, then exits.
    func stop() { submit.finish() }

    /// Kills the worker now (one still starting fails its health check at once).
    func kill() {
        let connection = state.withLock { state in
            state.killed = true
            return state.connection
        }
        connection?.kill()
    }
}

/// One request queued on a worker: queued, then taken by the worker or abandoned by its
/// sender (gave up waiting), never both.
final class WorkerJob: Sendable {
    let frame: WorkerFrame
    private let result = Promise<Result<WorkerFrame, WorkerError>>()
    /// 0 queued, 1 taken, 2 abandoned.
    private let phase = Atomic<Int>(0)

    init(_ frame: WorkerFrame) { self.frame = frame }

    /// The worker takes the job; false when its sender gave up.
    func take() -> Bool { phase.compareExchange(expected: 0, desired: 1, ordering: .sequentiallyConsistent).exchanged }

    /// The sender gives up unless a worker took the job.
    func abandonIfQueued(_ outcome: Result<WorkerFrame, WorkerError>) {
        if phase.compareExchange(expected: 0, desired: 2, ordering: .sequentiallyConsistent).exchanged { result.fulfil(outcome) }
    }

    /// The worker's answer.
    func finish(_ outcome: Result<WorkerFrame, WorkerError>) { result.fulfil(outcome) }

    /// Waits for the answer; a cancelled sender abandons a job no worker took yet.
    func wait() async -> Result<WorkerFrame, WorkerError> {
        await withTaskCancellationHandler {
            await result.value
        } onCancel: {
            abandonIfQueued(.failure(WorkerError("the request was cancelled")))
        }
    }
}
