/// Limits on a whole process tree: memory, processes and CPU time, for the tree together
/// (a control group), not per process.
package struct ResourceLimits: Sendable, Equatable {
    /// The most memory the tree may hold together; past it the kernel kills one of its
    /// processes (reported as out of memory).
    package var memoryBytes: Int64
    /// CPUs' worth of time the tree may use (a quota: 1.5 is 150 ms per 100 ms); nil: no quota.
    package var cpus: Double?
    /// How many processes and threads the tree may have at once.
    package var processes: Int

    /// The default cap on processes and threads of one job or worker.
    package static let defaultProcesses = 256

    /// Limits; `processes` defaults to `defaultProcesses`.
    package init(memoryBytes: Int64, cpus: Double? = nil, processes: Int = defaultProcesses) {
        self.memoryBytes = memoryBytes
        self.cpus = cpus
        self.processes = processes
    }

    /// "memory 512MiB, 256 processes, 1.0 CPUs": how limits print in logs.
    package var summary: String {
        "memory \(Self.size(memoryBytes)), \(processes) processes" + (cpus.map { ", \($0) CPUs" } ?? "")
    }

    /// `512MiB`, `2GiB`: how sizes print.
    package static func size(_ bytes: Int64) -> String {
        if bytes > 0, bytes % (1 << 30) == 0 { return "\(bytes >> 30)GiB" }
        if bytes > 0, bytes % (1 << 20) == 0 { return "\(bytes >> 20)MiB" }
        return "\(bytes) bytes"
    }
}
