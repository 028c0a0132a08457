import Foundation
import Synchronization

/// The workers of one variant. Requests go to the worker with the fewest in flight; a pool
/// that is draining takes no new request and stops once its last one is answered.
final class WorkerPool: @unchecked Sendable {
    let variant: VariantConfig
    private let spec: WorkerSpec
    private let log: @Sendable (String) -> Void
    private struct State {
        var workers: [Worker] = []
        var starting = 0
        var accepting = true
        var inFlight = 0
        var requests = 0
        var errors = 0
        var serial = 0
        /// Workers started but not yet healthy; `abort` kills them.
        var unready: [Worker] = []
        var aborted = false
    }
    private let state = Mutex(State())
    /// Seconds a request may take before its worker is considered stuck.
    var requestTimeout = 60.0

    init(variant: VariantConfig, spec: WorkerSpec, log: @escaping @Sendable (String) -> Void) {
        self.variant = variant
        self.spec = spec
        self.log = log
    }

    /// Live workers (starting ones not counted).
    var workerCount: Int { state.withLock { $0.workers.filter(\.isAlive).count } }
    /// Workers live or starting.
    var plannedCount: Int { state.withLock { $0.workers.filter(\.isAlive).count + $0.starting } }
    /// Requests in this pool now, queued or running.
    var inFlight: Int { state.withLock { $0.inFlight } }
    /// Requests answered and how many of them were 5xx, since `resetCounts`.
    var counts: (requests: Int, errors: Int) { state.withLock { ($0.requests, $0.errors) } }
    func resetCounts() { state.withLock { $0.requests = 0; $0.errors = 0 } }

    /// Starts `count` more workers and waits until each has loaded its model and answered a
    /// ping. Any that fails is stopped and the error thrown (the others stay).
    func grow(by count: Int, healthTimeout: Double) async throws(WorkerError) {
        guard count > 0 else { return }
        var started: [Worker] = []
        let ids = state.withLock { state -> [String] in
            state.starting += count
            return (0..<count).map { _ in state.serial += 1; return "\(variant.name)-\(state.serial)" }
        }
        defer { state.withLock { $0.starting -= count } }
        var failure: WorkerError?
        for id in ids {
            do {
                let worker = try Worker(id: id, spec: spec)
                started.append(worker)
                let aborted = state.withLock { state in
                    state.unready.append(worker)
                    return state.aborted
                }
                if aborted { kill(-worker.pid, SIGKILL) }
            } catch {
                failure = error
                break
            }
        }
        defer { state.withLock { state in state.unready.removeAll { worker in started.contains { $0 === worker } } } }
        if failure == nil {
            let deadline = Date().addingTimeInterval(healthTimeout)
            for worker in started {
                do {
                    try await worker.ready(timeout: max(1, deadline.timeIntervalSinceNow))
                    try await worker.ping(timeout: max(1, deadline.timeIntervalSinceNow))
                } catch {
                    failure = error
                    break
                }
            }
        }
        if let failure {
            started.forEach { $0.stop(grace: 0) }
            throw WorkerError(failure.message + logTail())
        }
        // A pool drained while these started (an update replaced it) must not keep them.
        let kept = state.withLock { state -> Bool in
            guard state.accepting else { return false }
            state.workers += started
            return true
        }
        guard kept else {
            started.forEach { $0.stop(grace: 0) }
            return
        }
        log("\(variant.name): \(count) worker\(count == 1 ? "" : "s") ready (pids \(started.map { String($0.pid) }.joined(separator: ", ")))")
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
        for worker in unready { kill(-worker.pid, SIGKILL) }
    }

    /// Stops `count` idle-most workers (they finish what they hold first).
    func shrink(by count: Int) {
        let removed = state.withLock { state -> [Worker] in
            let chosen = Array(state.workers.filter(\.isAlive).sorted { $0.inFlight.load(ordering: .relaxed) < $1.inFlight.load(ordering: .relaxed) }.prefix(count))
            state.workers.removeAll { worker in chosen.contains { $0 === worker } }
            return chosen
        }
        removed.forEach { $0.stop(grace: requestTimeout) }
        if !removed.isEmpty { log("\(variant.name): stopped \(removed.count) worker\(removed.count == 1 ? "" : "s")") }
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
        let worker = state.withLock { state -> Worker?? in
            guard state.accepting else { return .none }
            state.inFlight += 1
            return .some(state.workers.filter(\.isAlive).min { $0.inFlight.load(ordering: .relaxed) < $1.inFlight.load(ordering: .relaxed) })
        }
        guard case .some(let chosen) = worker else { return nil }
        let result: InvocationResult
        if let chosen {
            result = await chosen.invoke(invocation, timeout: requestTimeout)
        } else {
            result = .failure(503, "variant '\(variant.name)' has no running worker; it is starting or restarting, retry shortly")
        }
        state.withLock { state in
            state.inFlight -= 1
            state.requests += 1
            if result.status >= 500 { state.errors += 1 }
        }
        return result
    }

    /// Takes no new request, waits (up to `timeout`) for those in flight, then stops every worker.
    func drain(timeout: Double = 120) async {
        state.withLock { $0.accepting = false }
        let deadline = Date().addingTimeInterval(timeout)
        while inFlight > 0 && Date() < deadline { try? await Task.sleep(for: .milliseconds(20)) }
        let workers = state.withLock { state -> [Worker] in
            defer { state.workers.removeAll() }
            return state.workers
        }
        workers.forEach { $0.stop() }
    }
}
