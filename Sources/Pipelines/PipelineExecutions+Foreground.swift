import StatesLanguage

extension PipelineExecutions {
    /// Runs a stored execution to its end in this process as `run` does, for a person
    /// waiting at a terminal (`--wait`, `states run`, no agent running): when `interrupt`
    /// returns (the executable's Ctrl-C or SIGTERM) it is stopped as `slipway executions
    /// stop` would. The running job is ended at once and the execution ends `ABORTED`,
    /// where a killed process would leave it `RUNNING` for the next agent to resume. An
    /// execution that ended in the meantime keeps its outcome.
    package func runInForeground(_ stored: ExecutionStore.Stored, lock: ExecutionLock? = nil,
                                 interrupt: @escaping @Sendable () async -> Void) async throws -> ExecutionOutcome {
        // Held until the abort is recorded, so that no agent claims it in between.
        guard let held = lock ?? store.lock(stored) else { throw ExecutionBusy(name: stored.name) }
        enum Finished: Sendable { case run(ExecutionOutcome), interrupted }
        let outcome: ExecutionOutcome? = await withTaskGroup(of: Finished?.self) { group in
            group.addTask { (try? await self.run(stored, lock: held)).map(Finished.run) }
            group.addTask {
                await interrupt()
                return Task.isCancelled ? nil : .interrupted
            }
            var outcome: ExecutionOutcome?
            // The first to finish cancels the other: the interrupt watch, or the run (its
            // job ends; it records nothing more). Then the run's outcome is read whole:
            // one that ended before the cancellation reached it is kept.
            while let finished = await group.next() {
                group.cancelAll()
                if case .run(let ran)? = finished { outcome = ran }
            }
            return outcome
        }
        if let outcome, outcome.status != ExecutionStatus.running.rawValue { return outcome }
        try withExtendedLifetime(held) { try store.recordAbort(stored) }
        let (status, history) = try store.status(of: stored)
        return ExecutionOutcome(status: status, output: nil, error: .aborted, history: history)
    }
}
