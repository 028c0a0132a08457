import Home

extension PipelineExecutions {
    /// Whether an agent runs for `home` (a process holds `HOME/agent.lock`): a stored
    /// execution left to it is claimed at once, or within its scan interval.
    package static func agentRuns(home: String) -> Bool { FileLock.holder(of: home + "/agent.lock") != nil }
}
