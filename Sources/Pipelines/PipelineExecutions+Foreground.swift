import StatesLanguage
import UnixSignals

extension PipelineExecutions {
    /// Runs a stored execution to its end in this process as `run` does, for a person
    /// waiting at a terminal (`--wait`, `states run`, no agent running): SIGINT (Ctrl-C)
    /// or SIGTERM stops it as `slipway executions stop` would. The running job is ended at
    /// once and the execution ends `ABORTED`, where a killed process would leave it
    /// `RUNNING` for the next agent to resume.
    package func runInForeground(_ stored: ExecutionStore.Stored, lock: ExecutionLock? = nil) async throws(ExecutionBusy) -> ExecutionOutcome {
        // Held until the abort is recorded, so that no agent claims it in between.
        guard let held = lock ?? store.lock(stored) else { throw ExecutionBusy(name: stored.name) }
        let signals = await UnixSignalsSequence(trapping: .sigint, .sigterm)
        let finished: ExecutionOutcome? = await withTaskGroup(of: ExecutionOutcome?.self) { group in
            group.addTask { try? await self.run(stored, lock: held) }
            group.addTask {
                for await _ in signals { return nil }
                return nil
            }
            let first = await group.next() ?? nil
            group.cancelAll()  // the signal watch, or the run (its job ends; it records nothing more)
            return first
        }
        if let finished, finished.status != ExecutionStatus.running.rawValue { return finished }
        // Interrupted: the run stopped recording; end it ABORTED.
        try? withExtendedLifetime(held) { try store.recordAbort(stored) }
        let (status, history) = (try? store.status(of: stored)) ?? (ExecutionStatus.aborted.rawValue, [])
        return ExecutionOutcome(status: status, output: nil, error: .aborted, history: history)
    }
}
