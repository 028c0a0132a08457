import Home

extension JobSpec {
    /// Refuses a job whose names or limits the config checker would have refused: every
    /// input, output and channel name and the job's id become paths under its work folder,
    /// so each must be a `SafeName`; cpus, memory and the timeout must lie within
    /// `ResourceBounds`. This is the defence in depth behind `slipway model validate`: an
    /// execution input written by hand (or a registry edited by hand) reaches the same
    /// wall. Throws `Job.InvalidSpec`, which is not retried.
    package func checkSafe(id: String) throws(JobFailure) {
        var problems: [String] = []
        // An id is an execution's name plus the stage: longer than a config name may be.
        if let problem = SafeName.problem(with: id, maxLength: 200) { problems.append("job id '\(id)': \(problem)") }
        if let problem = SafeName.problem(with: stage) { problems.append("stage '\(stage)': \(problem)") }
        for name in inputs.keys.sorted() {
            if let problem = SafeName.problem(with: name) { problems.append("input '\(name)': \(problem)") }
        }
        for name in outputs {
            if let problem = SafeName.problem(with: name) { problems.append("output '\(name)': \(problem)") }
        }
        let cpus = resources.cpus
        if !(cpus.isFinite && cpus > 0 && cpus <= ResourceBounds.maxCPUs) {
            problems.append("cpus \(cpus) is outside (0, \(Int(ResourceBounds.maxCPUs))]")
        }
        if !ResourceBounds.memoryBytes.contains(resources.memoryBytes) {
            problems.append("memory \(resources.memoryBytes) bytes is outside \(ResourceBounds.memoryBytes.lowerBound)...\(ResourceBounds.memoryBytes.upperBound)")
        }
        if !(1...ResourceBounds.maxTimeoutSeconds).contains(resources.timeoutSeconds) {
            problems.append("timeout \(resources.timeoutSeconds) s is outside 1...\(ResourceBounds.maxTimeoutSeconds)")
        }
        guard problems.isEmpty else {
            throw JobFailure(error: "Job.InvalidSpec", cause: "refused to run \(stage): " + problems.joined(separator: "; ")
                                 + "; names that become paths must be safe (\(SafeName.rule)); check slipway.yaml with `slipway model validate`")
        }
    }
}
