import Foundation
import Logging
import Synchronization

/// What the pools of a manager share: how workers start, the clock, the limits, where a
/// worker's lifetime runs (the manager's task group) and the log.
struct PoolContext: Sendable {
    var launcher: any WorkerLauncher
    var clock: ServingClock
    var limits: WorkerLimits
    /// Runs a worker's lifetime in the manager's group; false once the manager has stopped.
    var spawn: @Sendable (@escaping @Sendable () async -> Void) -> Bool
    var logger: Logger
}

/// The workers of one variant. A request goes to the worker with the fewest requests
/// reserved, and reserves it inside the pool's lock, so a scale-in (which only stops
/// workers with nothing reserved) never stops the worker a request was given. A pool that
/// is draining takes no new request and stops once its last one is answered.
final class WorkerPool: Sendable {
    let variant: VariantConfig
    private let spec: WorkerSpec
    private let context: PoolContext
    private struct State {
        var workers: [Worker] = []
        /// Requests given to each worker (by id) and not yet answered.
        var reserved: [String: Int] = [:]
        var starting = 0
        var accepting = true
        var inFlight = 0
        var requests = 0
        var errors = 0
        var clientErrors = 0
        var serial = 0
        /// Workers started but not yet healthy; `abort` kills them.
        var unready: [Worker] = []
        var aborted = false
        var idleWaiters: [CheckedContinuation<Void, Never>] = []
        /// The drain's wait is over (its timeout, or cancellation): stop waiting for requests.
        var drainExpired = false
    }
    private let state = Mutex(State())

    init(variant: VariantConfig, spec: WorkerSpec, context: PoolContext) {
        self.variant = variant
        self.spec = spec
        self.context = context
    }

    private var logger: Logger {
        var logger = context.logger
        logger[metadataKey: "variant.name"] = "\(variant.name)"
        return logger
    }

    /// Live workers (starting ones not counted).
    var workerCount: Int { state.withLock { $0.workers.filter(\.isAlive).count } }
    /// Workers live or starting.
    var plannedCount: Int { state.withLock { $0.workers.filter(\.isAlive).count + $0.starting } }
    /// Requests in this pool now, queued or running.
    var inFlight: Int { state.withLock { $0.inFlight } }
    /// Requests answered, how many failed for the server's causes and how many for the
    /// client's, since `resetCounts`.
    var counts: UpdateMachine.Counts {
        state.withLock { .init(variant: variant.name, requests: $0.requests, errors: $0.errors, clientErrors: $0.clientErrors) }
    }
    func resetCounts() { state.withLock { $0.requests = 0; $0.errors = 0; $0.clientErrors = 0 } }

    /// Starts `count` more workers and waits until each has loaded its model and answered a
    /// ping. If any fails, all of them are stopped and the error thrown.
    func grow(by count: Int, healthTimeout: Duration) async throws(WorkerError) {
        guard count > 0 else { return }
        let ids = state.withLock { state -> [String] in
            state.starting += count
            return (0..<count).map { _ in state.serial += 1; return "\(variant.name)-\(state.serial)" }
        }
        defer { state.withLock { $0.starting -= count } }
        let started = ids.map { Worker(id: $0, spec: spec) }
        let aborted = state.withLock { state in
            state.unready += started
            return state.aborted
        }
        defer { state.withLock { state in state.unready.removeAll { worker in started.contains { $0 === worker } } } }
        let context = self.context
        for worker in started {
            let spawned = context.spawn {
                await worker.run(launcher: context.launcher, clock: context.clock, limits: context.limits, healthTimeout: healthTimeout)
            }
            if !spawned { worker.ready.fulfil(.failure(WorkerError("the endpoint manager has stopped"))) }
            if aborted { worker.kill() }
        }
        var failure: WorkerError?
        var pids: [Int32] = []
        for worker in started {
            switch await worker.ready.value {
            case .success(let pid): pids.append(pid)
            case .failure(let error): failure = failure ?? error
            }
        }
        if let failure {
            started.forEach { $0.kill() }
            throw WorkerError(failure.message + logTail())
        }
        // A pool drained while these started (an update replaced it) must not keep them.
        let kept = state.withLock { state -> Bool in
            guard state.accepting else { return false }
            state.workers += started
            return true
        }
        guard kept else {
            started.forEach { $0.stop() }
            return
        }
        logger.info("\(count) worker\(count == 1 ? "" : "s") ready", metadata: ["worker.pids": "\(pids.map(String.init).joined(separator: ","))"])
    }

    /// The last lines of the variant's worker log, to explain a worker that did not start.
    private func logTail(lines: Int = 8) -> String {
        guard let text = try? String(contentsOfFile: spec.logFile, encoding: .utf8) else { return "" }
        let tail = text.split(separator: "\n").suffix(lines).joined(separator: "\n")
        return tail.isEmpty ? "" : "; the worker log (\(spec.logFile)) ends:\n\(tail)"
    }

    /// Kills the workers still starting, so that `grow` fails now rather than at its health timeout.
    func abort() {
        let unready = state.withLock { state in
            state.aborted = true
            return state.unready
        }
        unready.forEach { $0.kill() }
    }

    /// Stops up to `count` workers that hold no request; returns how many it stopped.
    @discardableResult
    func shrink(by count: Int) -> Int {
        let removed = state.withLock { state -> [Worker] in
            let idle = state.workers.filter { $0.isAlive && (state.reserved[$0.id] ?? 0) == 0 }
            let chosen = Array(idle.prefix(count))
            state.workers.removeAll { worker in chosen.contains { $0 === worker } }
            return chosen
        }
        removed.forEach { $0.stop() }
        if !removed.isEmpty { logger.info("stopped \(removed.count) worker\(removed.count == 1 ? "" : "s")") }
        return removed.count
    }

    /// Forgets workers whose process has exited; returns how many.
    func pruneDead() -> Int {
        state.withLock { state in
            let before = state.workers.count
            state.workers.removeAll { !$0.isAlive }
            return before - state.workers.count
        }
    }

    /// Serves one request, or nil when the pool no longer takes requests (it drains).
    func invoke(_ invocation: Invocation) async -> InvocationResult? {
        let choice = state.withLock { state -> Worker?? in
            guard state.accepting else { return .none }
            state.inFlight += 1
            let chosen = state.workers.filter(\.isAlive).min { (state.reserved[$0.id] ?? 0) < (state.reserved[$1.id] ?? 0) }
            if let chosen { state.reserved[chosen.id, default: 0] += 1 }
            return .some(chosen)
        }
        guard case .some(let worker) = choice else { return nil }
        let result: InvocationResult
        if let worker {
            result = await worker.invoke(invocation, clock: context.clock, limits: context.limits)
        } else {
            result = .failure(503, "variant '\(variant.name)' has no running worker; it is starting or restarting, retry shortly", .unavailable)
        }
        let idle = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            if let worker {
                state.reserved[worker.id, default: 1] -= 1
                if state.reserved[worker.id] == 0 { state.reserved[worker.id] = nil }
            }
            state.inFlight -= 1
            state.requests += 1
            switch result.cause {
            case .some(let cause) where cause.countsAgainstVersion: state.errors += 1
            case .some: state.clientErrors += 1
            case .none: break
            }
            guard state.inFlight == 0 else { return [] }
            defer { state.idleWaiters.removeAll() }
            return state.idleWaiters
        }
        idle.forEach { $0.resume() }
        return result
    }

    /// Takes no new request, waits (up to `timeout`) for those in flight, then stops every
    /// worker and waits until they have exited.
    func drain(timeout: Duration) async {
        state.withLock { $0.accepting = false }
        _ = await context.clock.deadline(timeout, onTimeout: { self.wakeIdleWaiters() }) { await self.idle() }
        let workers = state.withLock { state -> [Worker] in
            defer { state.workers.removeAll() }
            return state.workers
        }
        workers.forEach { $0.stop() }
        for worker in workers { await worker.exited.value }
    }

    private func idle() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let now = state.withLock { state -> Bool in
                guard state.inFlight > 0, !state.drainExpired else { return true }
                state.idleWaiters.append(continuation)
                return false
            }
            if now { continuation.resume() }
        }
    }

    private func wakeIdleWaiters() {
        let waiters = state.withLock { state in
            state.drainExpired = true
            defer { state.idleWaiters.removeAll() }
            return state.idleWaiters
        }
        waiters.forEach { $0.resume() }
    }
}
