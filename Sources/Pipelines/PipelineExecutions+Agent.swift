import ArtifactBuilder

extension PipelineExecutions {
    /// Whether an agent runs for this home (a process holds `HOME/agent.lock`): a stored
    /// execution left to it is claimed at once, or within its scan interval.
    package var agentRuns: Bool { FolderLock.holder(of: home + "/agent.lock") != nil }
}
