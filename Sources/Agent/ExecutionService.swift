import Foundation
import Logging
import Pipelines
import ServiceLifecycle
import StatesLanguage
import Synchronization

/// Runs state machine executions inside the agent: at most `limit` at once, each holding
/// its execution's lock, in a task group that the service awaits, so shutting down
/// cancels them (their jobs end, nothing more is recorded) and the next agent resumes
/// them. At start, and whenever the executions folder changes, it claims every RUNNING
/// execution that no process holds: what a killed agent left, and what the CLI stored
/// for the agent (`slipway train`, `slipway deploy`, `executions redrive`). Stop requests
/// and task tokens reach a running execution through the home's files; nothing else
/// needs a process of its own.
package final class ExecutionService: Service, Sendable {
    package let executions: PipelineExecutions
    package let limit: Int
    let logger: Logger
    let changes: Changes
    /// Wakes the drain loop when a claim is queued.
    private let wakeups: AsyncStream<Void>
    private let wake: AsyncStream<Void>.Continuation
    /// Claims waiting to run; names this service has running or queued; names known to
    /// have ended, with their journal's size then (a redrive grows it).
    private let state = Mutex<(pending: [Claim], active: Set<String>, ended: [String: Int])>(([], [], [:]))
    /// What `onEnd` is told when an execution ends (the agent logs and counts them).
    private let ended: @Sendable (ExecutionStore.Stored, ExecutionOutcome) async -> Void

    /// One execution to run, with its lock when its creator holds it already.
    struct Claim: Sendable {
        var stored: ExecutionStore.Stored
        var lock: ExecutionLock?
    }

    /// A service running `executions`, `limit` at a time (at least 1).
    package init(executions: PipelineExecutions, limit: Int, changes: Changes, logger: Logger,
                 onEnd: @escaping @Sendable (ExecutionStore.Stored, ExecutionOutcome) async -> Void = { _, _ in }) {
        self.executions = executions
        self.limit = max(1, limit)
        self.changes = changes
        self.logger = logger
        self.ended = onEnd
        (wakeups, wake) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    /// Queues an execution this process created (its lock held) to run here.
    package func submit(_ stored: ExecutionStore.Stored, lock: ExecutionLock?) {
        let added = state.withLock { state in
            guard state.active.insert(stored.name).inserted else { return false }
            state.pending.append(Claim(stored: stored, lock: lock))
            return true
        }
        if added { wake.yield() }
    }

    /// Claims every RUNNING execution no process holds; returns how many were queued.
    @discardableResult
    package func claimUnclaimed() -> Int {
        let (active, ended) = state.withLock { ($0.active, $0.ended) }
        let store = executions.store
        var count = 0
        for name in executions.unclaimed(skip: { active.contains($0) || ended[$0].map { [name = $0] size in size == store.journalSize(name) } == true }) {
            guard let stored = try? executions.store.open(name) else { continue }
            logger.info("claiming execution", metadata: ["execution.id": "\(name)", "execution.machine": "\(stored.stateMachineName)"])
            submit(stored, lock: nil)
            count += 1
        }
        return count
    }

    /// Claims what is waiting, then runs executions until graceful shutdown; running
    /// ones are cancelled then and stay RUNNING in their journals.
    package func run() async throws {
        try FileManager.default.createDirectory(atPath: executions.store.folder, withIntermediateDirectories: true)
        claimUnclaimed()
        await cancelWhenGracefulShutdown {
            await withDiscardingTaskGroup { group in
                group.addTask { await self.watch() }
                group.addTask { await self.drain() }
            }
        }
        wake.finish()
    }

    /// Runs every queued claim (and what those runs queue) to its end, `limit` at a time;
    /// for `slipway agent --once`.
    package func runQueued() async -> [ExecutionOutcome] {
        await withTaskGroup(of: ExecutionOutcome?.self) { group in
            var running = 0
            var outcomes: [ExecutionOutcome] = []
            while true {
                if let claim = takeClaim(), running < limit {
                    running += 1
                    group.addTask { await self.execute(claim) }
                    continue
                }
                guard running > 0, let finished = await group.next() else { break }
                running -= 1
                if let finished { outcomes.append(finished) }
            }
            return outcomes
        }
    }

    private func takeClaim() -> Claim? {
        state.withLock { $0.pending.isEmpty ? nil : $0.pending.removeFirst() }
    }

    /// Claims new unclaimed executions whenever the executions folder changes (or every interval).
    private func watch() async {
        while !Task.isCancelled {
            guard (try? await changes.next(watching: [executions.store.folder])) != nil else { return }
            claimUnclaimed()
        }
    }

    /// Runs queued executions, at most `limit` at a time, until cancelled.
    private func drain() async {
        let slots = Slots(limit)
        await withDiscardingTaskGroup { group in
            for await _ in wakeups {
                while !Task.isCancelled, let claim = takeClaim() {
                    await slots.acquire()
                    group.addTask {
                        await self.execute(claim)
                        await slots.release()
                    }
                }
            }
        }
    }

    @discardableResult
    private func execute(_ claim: Claim) async -> ExecutionOutcome? {
        let name = claim.stored.name
        let metadata: Logger.Metadata = ["execution.id": "\(name)", "execution.machine": "\(claim.stored.stateMachineName)"]
        defer { state.withLock { _ = $0.active.remove(name) } }
        do {
            logger.info("execution running", metadata: metadata)
            let outcome = try await executions.run(claim.stored, lock: claim.lock)
            guard outcome.status != "RUNNING" else {
                logger.info("execution left running: the agent is stopping; the next agent resumes it", metadata: metadata)
                return outcome
            }
            let size = executions.store.journalSize(name)
            state.withLock { $0.ended[name] = size }
            var fields = metadata
            fields["execution.status"] = "\(outcome.status)"
            if let error = outcome.error { fields["error"] = "\(error.error): \(error.cause)" }
            if outcome.status == "SUCCEEDED" { logger.info("execution ended", metadata: fields) } else { logger.warning("execution ended", metadata: fields) }
            await ended(claim.stored, outcome)
            return outcome
        } catch {
            logger.debug("execution skipped: \(error)", metadata: metadata)
            return nil
        }
    }
}

/// A counting semaphore for the execution limit. Executions always end (cancelled ones
/// promptly), so a waiter is always released.
actor Slots {
    private var free: Int
    private var waiters: [CheckedContinuation<Void, Never>] = []

    init(_ count: Int) { free = count }

    func acquire() async {
        if free > 0 {
            free -= 1
            return
        }
        await withCheckedContinuation { waiters.append($0) }
    }

    func release() {
        if waiters.isEmpty { free += 1 } else { waiters.removeFirst().resume() }
    }
}
