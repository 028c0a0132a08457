import Foundation
import JSON
import Logging
import Pipelines
import ServiceLifecycle
import StatesLanguage
import Synchronization

/// Runs state machine executions inside the agent, each holding its execution's lock, in a
/// task group that the service awaits. At most `limit` executions run jobs at once (a
/// stage job or a command): an execution takes a slot when one of its job tasks starts
/// and gives it back when its last one ends, so one sitting in a Wait state, a Retry
/// back-off or a wait for a task token (a deployment polling its endpoint, say) holds
/// none, and the light bookkeeping tasks never queue behind jobs. Shutting down
/// cancels them (their jobs end, nothing more is recorded) and the next agent resumes
/// them. At start, and whenever the executions folder changes, it claims every RUNNING
/// execution that no process holds: what a killed agent left, and what the CLI stored
/// for the agent (`slipway train`, `slipway deploy`, `executions redrive`). None is left
/// RUNNING for good: a task attempt whose runner died fails at its third death
/// (`Engine.runnerDeathLimit`), and an end its journal could not write (a full disk) is
/// written with back-off (`recordEnd`). Stop requests
/// and task tokens reach a running execution through the home's files; nothing else
/// needs a process of its own.
package final class ExecutionService: Service, Sendable {
    /// The home's executions and how to run them.
    package let executions: PipelineExecutions
    /// How many executions run jobs at once.
    package let limit: Int
    /// The job slots every execution shares.
    private let slots: Slots
    let logger: Logger
    let changes: Changes
    /// Wakes the drain loop when a claim is queued.
    private let wakeups: AsyncStream<Void>
    private let wake: AsyncStream<Void>.Continuation
    /// Claims waiting to run; names this service has running or queued; names known to
    /// have ended, with their journal's size then (a redrive grows it).
    private let state = Mutex<(pending: [Claim], active: Set<String>, ended: [String: Int])>(([], [], [:]))

    /// One execution to run, with its lock when its creator holds it already.
    struct Claim: Sendable {
        var stored: ExecutionStore.Stored
        var lock: ExecutionLock?
    }

    /// A service running `executions`, `limit` at a time (at least 1).
    package init(executions: PipelineExecutions, limit: Int, changes: Changes, logger: Logger) {
        self.executions = executions
        self.limit = max(1, limit)
        self.slots = Slots(self.limit)
        self.changes = changes
        self.logger = logger
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

    /// Claims every RUNNING execution no process holds (keeping its lock until it runs);
    /// returns how many were queued. Ended executions are remembered with their journal's
    /// size, so that a scan reads only what is new or was redriven.
    @discardableResult
    package func claimUnclaimed() -> Int {
        let (active, ended) = state.withLock { ($0.active, $0.ended) }
        let store = executions.store
        let scan = executions.claimUnclaimed(skip: { name in
            active.contains(name) || ended[name].map { $0 == store.journalSize(name) } == true
        })
        state.withLock { $0.ended.merge(scan.ended) { $1 } }
        for (name, problem) in scan.unreadable where ended[name] == nil {
            logger.error("an execution cannot be read; it is not resumed: \(problem)", metadata: ["execution.id": "\(name)"])
            state.withLock { $0.ended[name] = store.journalSize(name) }  // said once, until it changes
        }
        for (stored, lock) in scan.claimed {
            logger.info("claiming execution", metadata: ["execution.id": "\(stored.name)", "execution.machine": "\(stored.stateMachineName)"])
            submit(stored, lock: lock)
        }
        return scan.claimed.count
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
        // Claims that never ran give their locks back: the next agent takes them.
        let left = state.withLock { state in
            defer { state.pending.removeAll() }
            return state.pending
        }
        for claim in left { state.withLock { _ = $0.active.remove(claim.stored.name) } }
    }

    /// Runs every queued claim (and what those runs queue) to its end, `limit` running
    /// jobs at a time; for `slipway agent --once`.
    package func runQueued() async -> [ExecutionOutcome] {
        await withTaskGroup(of: ExecutionOutcome?.self) { group in
            var running = 0
            var outcomes: [ExecutionOutcome] = []
            while true {
                if let claim = takeClaim() {
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

    /// Claims new unclaimed executions whenever the executions folder changes (or every
    /// interval); a folder that cannot be read backs off and is logged once per error.
    private func watch() async {
        let (changes, folder) = (self.changes, executions.store.folder)
        await FailureBackoff.loop("scanning the executions", clock: changes.clock, logger: logger) {
            guard let directory = opendir(folder) else { return "cannot list '\(folder)': \(String(cString: strerror(errno)))" }
            closedir(directory)
            claimUnclaimed()
            return nil
        } next: {
            try await changes.next(watching: [folder])
        }
    }

    /// Writes the end of an execution that its journal could not record (a full disk)
    /// with `write`, again and again with back-off (logged once per error) until it is
    /// written or the service stops, so that the execution is not left RUNNING. Returns
    /// whether it was written.
    @discardableResult
    package func recordEnd(of name: String, _ write: () throws -> Void) async -> Bool {
        var backoff = FailureBackoff()
        let metadata: Logger.Metadata = ["execution.id": "\(name)"]
        while !Task.isCancelled {
            do {
                try write()
                backoff.succeeded("recording the execution's end", logger: logger, metadata: metadata)
                return true
            } catch {
                let delay = backoff.failed("recording the execution's end", "\(error)", logger: logger, metadata: metadata)
                do { try await changes.clock.sleep(for: delay) } catch { return false }
            }
        }
        return false
    }

    /// Runs queued executions until cancelled (their jobs `limit` at a time).
    private func drain() async {
        await withDiscardingTaskGroup { group in
            for await _ in wakeups {
                while !Task.isCancelled, let claim = takeClaim() {
                    guard group.addTaskUnlessCancelled(operation: { await self.execute(claim) }) else {
                        state.withLock { $0.pending.insert(claim, at: 0) }
                        break
                    }
                }
            }
        }
    }

    /// The home's task resources, the job ones taking a slot of `slots` for this execution.
    private func resources(sharing slots: Slots) -> [String: any TaskResource] {
        let slot = ExecutionSlot(slots)
        var resources = executions.resources
        for uri in PipelineExecutions.jobResources {
            if let job = resources[uri] { resources[uri] = SlotHolding(job: job, slot: slot) }
        }
        return resources
    }

    @discardableResult
    private func execute(_ claim: Claim) async -> ExecutionOutcome? {
        let name = claim.stored.name
        let metadata: Logger.Metadata = ["execution.id": "\(name)", "execution.machine": "\(claim.stored.stateMachineName)"]
        defer { state.withLock { _ = $0.active.remove(name) } }
        do {
            logger.info("execution running", metadata: metadata)
            let outcome = try await executions.run(claim.stored, lock: claim.lock, resources: resources(sharing: slots))
            guard outcome.status != ExecutionStatus.running.rawValue else {
                logger.info("execution left running: the agent is stopping; the next agent resumes it", metadata: metadata)
                return outcome
            }
            if outcome.unrecorded != nil {
                let (store, stored) = (executions.store, claim.stored)
                await recordEnd(of: name) { try store.recordEnd(stored, outcome) }
            }
            let size = executions.store.journalSize(name)
            state.withLock { $0.ended[name] = size }
            var fields = metadata
            fields["execution.status"] = "\(outcome.status)"
            if let error = outcome.error { fields["error"] = "\(error.error): \(error.cause)" }
            if outcome.status == ExecutionStatus.succeeded.rawValue { logger.info("execution ended", metadata: fields) } else { logger.warning("execution ended", metadata: fields) }
            return outcome
        } catch {
            logger.debug("execution skipped: \(error)", metadata: metadata)
            return nil
        }
    }
}

/// A counting semaphore for the limit on executions running jobs. Jobs always end
/// (cancelled ones promptly), so a waiter is always released.
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

/// One execution's hold on a job slot: taken when its first job task starts (a Map or a
/// Parallel may run several at once), given back when its last one ends.
actor ExecutionSlot {
    private let slots: Slots
    private var jobs = 0
    private var holding = false
    private var waiting: [CheckedContinuation<Void, Never>] = []

    init(_ slots: Slots) { self.slots = slots }

    /// Waits until this execution holds a slot, and counts one more job.
    func enter() async {
        jobs += 1
        if holding { return }
        if jobs > 1 {  // another job of this execution is taking the slot: wait for it
            await withCheckedContinuation { waiting.append($0) }
            return
        }
        await slots.acquire()
        holding = true
        for waiter in waiting { waiter.resume() }
        waiting.removeAll()
    }

    /// Counts one job fewer, and gives the slot back after the last.
    func leave() async {
        jobs -= 1
        if jobs == 0, holding {
            holding = false
            await slots.release()
        }
    }
}

/// A job task resource that runs only while its execution holds a job slot.
struct SlotHolding: TaskResource {
    let job: any TaskResource
    let slot: ExecutionSlot

    func runnerDied(_ request: TaskRequest, cause: String) -> StatesError { job.runnerDied(request, cause: cause) }

    func invoke(_ request: TaskRequest) async throws(StatesError) -> JSONValue {
        await slot.enter()
        if Task.isCancelled {  // the agent is stopping: start no job now
            await slot.leave()
            throw .interrupted
        }
        do {
            let output = try await job.invoke(request)
            await slot.leave()
            return output
        } catch {
            await slot.leave()
            throw error
        }
    }
}
