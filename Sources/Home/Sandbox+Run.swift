import Foundation

/// What a sandboxed command left: its process result, how its limits were enforced, and
/// what its tree used.
package struct SandboxResult: Sendable {
    /// The command's status, output tail, timeout and truncation.
    package var process: ProcessResult
    /// How the limits were held: "cgroup v1: memory 512MiB, 256 processes, 1.0 CPUs",
    /// "rlimits (...)", or "no limits".
    package var enforcement: String
    /// The most memory the whole tree held at once (nil when no control group measured it).
    package var peakMemoryBytes: Int64?
    /// How many processes of the tree the kernel killed for passing the memory limit.
    package var outOfMemoryKills: Int
    /// Whether the tree reached its memory limit at some point (an allocation may have failed).
    package var memoryLimitReached: Bool
    /// How many processes were still in the tree when the command ended, and were killed.
    package var leftovers: Int
}

extension Sandbox {
    /// The command prepared to run: the process spec (a `/bin/sh` that joins the control
    /// group, then bubblewrap; or the rlimit prefix), the group, and how limits are held.
    package struct Prepared: Sendable {
        /// What to start.
        package var spec: ProcessSpec
        /// The group holding the tree; nil under rlimits or without limits.
        package var group: ControlGroup?
        /// How the limits are held, for the log.
        package var enforcement: String

        /// Kills what is left of the tree and removes the group; returns how many processes were left.
        package func finish() async -> Int {
            guard let group else { return 0 }
            let left = await group.killAll()
            group.remove()
            return left
        }
    }

    /// `executable` with `arguments` in this sandbox under its limits, with exactly
    /// `environment`; `name` names the control group (a job id, a worker). With a control
    /// group, a small shell first moves itself into the group, then becomes bubblewrap, so
    /// every process of the tree is in the group from its start (CPUs are also pinned,
    /// `taskset`, so the job sees the CPUs it asked for). Without one (`rlimits`),
    /// the memory limit is an address-space limit per process (`prlimit --as`) and CPUs
    /// are pinned (`taskset`). Call `finish()` when the command has ended.
    package func prepare(_ executable: String, _ arguments: [String], environment: [String: String], name: String,
                         cgroupRoot: String = "/sys/fs/cgroup") -> Prepared {
        let command = commandLine(executable, arguments)
        guard let limits else {
            return Prepared(spec: ProcessSpec(command[0], Array(command.dropFirst()), environment: environment), group: nil, enforcement: "no limits")
        }
        switch ControlGroup.create(name: name, limits: limits, root: cgroupRoot) {
        case .success(let group):
            let join = #"n=$1; shift; while [ "$n" -gt 0 ]; do echo $$ > "$1" || exit 125; n=$((n-1)); shift; done; exec "$@""#
            let files = group.procsFiles
            // The quota holds CPU time; pinning keeps what a job sees (`os.sched_getaffinity`) true too.
            let pinning = limits.cpus.map(Self.pinning(cpus:)) ?? []
            return Prepared(
                spec: ProcessSpec("/bin/sh", ["-c", join, "slipway-cgroup", "\(files.count)"] + files + pinning + command, environment: environment),
                group: group, enforcement: "\(group.version.rawValue): \(limits.summary)")
        case .failure(let unusable):
            let pinning = limits.cpus.map(Self.pinning(cpus:)) ?? []
            let prefix = [Self.prlimit, "--as=\(limits.memoryBytes)", "--"] + pinning
            let full = prefix + command
            return Prepared(spec: ProcessSpec(full[0], Array(full.dropFirst()), environment: environment), group: nil,
                            enforcement: "rlimits, per process (\(limits.summary)): \(unusable.reason)")
        }
    }

    /// Runs `executable` in the sandbox to its end, as `Processes.run` does (output to
    /// `log` as it arrives, capped at `logLimit`, then a truncation line; the tail in
    /// memory; the timeout ends the tree), with the enforcement written first in the log.
    /// When it ends, nothing it started survives: every process left in its control group
    /// is killed and the group removed.
    package func run(
        _ executable: String, _ arguments: [String], environment: [String: String], name: String, input: String? = nil,
        log: String? = nil, logLimit: Int = Processes.defaultLogLimit, timeout: Duration? = nil, grace: Duration = .seconds(5)
    ) async throws(ProcessError) -> SandboxResult {
        let prepared = prepare(executable, arguments, environment: environment, name: name)
        let result: ProcessResult
        do {
            result = try await Processes.run(prepared.spec, input: input, log: log, logLimit: logLimit, timeout: timeout, grace: grace,
                                             header: "limits by \(prepared.enforcement)")
        } catch {
            _ = await prepared.finish()
            throw error
        }
        let peak = prepared.group?.peakMemoryBytes
        let kills = prepared.group?.outOfMemoryKills ?? 0
        let reached = prepared.group?.reachedMemoryLimit ?? false
        let leftovers = await prepared.finish()
        return SandboxResult(process: result, enforcement: prepared.enforcement, peakMemoryBytes: peak, outOfMemoryKills: kills, memoryLimitReached: reached,
                             leftovers: leftovers)
    }

    /// Starts `executable` in the sandbox as a long-lived child (`Processes.withChild`),
    /// the enforcement appended to `errorLog` first; when `body` ends, the whole tree is
    /// ended and its control group removed.
    package func withChild<R: Sendable>(
        _ executable: String, _ arguments: [String], environment: [String: String], name: String, errorLog: String?,
        grace: Duration = .seconds(5), body: (ChildProcess) async throws -> R
    ) async throws -> R {
        let prepared = prepare(executable, arguments, environment: environment, name: name)
        if let errorLog, let fd = try? ProcessGroup.openAppending(errorLog) {
            let line = Array("[slipway: limits by \(prepared.enforcement)]\n".utf8)
            _ = line.withUnsafeBytes { Glibc.write(fd.rawValue, $0.baseAddress, $0.count) }
            try? fd.close()
        }
        do {
            let result = try await Processes.withChild(prepared.spec, errorLog: errorLog, grace: grace, body: body)
            _ = await prepared.finish()
            return result
        } catch {
            _ = await prepared.finish()
            throw error
        }
    }

    /// prlimit's path (the fallback when no control group is usable).
    package static let prlimit = "/usr/bin/prlimit"
    /// taskset's path (the fallback's CPU pinning).
    package static let taskset = "/usr/bin/taskset"

    /// `taskset` arguments that keep a command on `ceil(cpus)` of the CPUs this process may
    /// use (none when it may use all of them anyway).
    package static func pinning(cpus: Double) -> [String] {
        let usable = usableCPUs()
        let wanted = wholeCPUs(cpus, atMost: usable.count)
        guard wanted < usable.count, access(taskset, X_OK) == 0 else { return [] }
        return [taskset, "--cpu-list", usable.prefix(wanted).map(String.init).joined(separator: ",")]
    }

    /// `ceil(cpus)`, at least 1 and at most `limit` (itself at least 1), without trapping
    /// on a huge, infinite or NaN count.
    package static func wholeCPUs(_ cpus: Double, atMost limit: Int) -> Int {
        let limit = max(1, limit)
        guard cpus.isFinite, cpus > 1 else { return 1 }
        return cpus.rounded(.up) >= Double(limit) ? limit : Int(cpus.rounded(.up))
    }

    /// The CPUs this process may use: "Cpus_allowed_list:\t0-3,6" in /proc/self/status.
    package static func usableCPUs() -> [Int] {
        let status = (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8)) ?? ""
        let list = status.split(separator: "\n").first { $0.hasPrefix("Cpus_allowed_list:") }?.split(separator: "\t").last ?? ""
        return list.split(separator: ",").flatMap { range -> [Int] in
            let ends = range.split(separator: "-").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
            guard let first = ends.first else { return [] }
            return Array(first...(ends.last ?? first))
        }
    }
}
