import Foundation

/// A control group holding one job's or worker's whole process tree, with its limits:
/// memory, processes, CPU quota. cgroup v2 is used where it is mounted with the `memory`
/// and `pids` controllers delegated; else cgroup v1's `memory`, `pids` and `cpu`
/// hierarchies under `/sys/fs/cgroup/NAME`. Groups live in a `slipway` folder of each
/// hierarchy, one per job or worker, and are removed when it ends, after every process
/// still in them was killed.
package struct ControlGroup: Sendable {
    /// Which cgroup interface holds the limits.
    package enum Version: String, Sendable {
        /// The unified hierarchy: one folder, `memory.max`, `pids.max`, `cpu.max`.
        case v2 = "cgroup v2"
        /// One folder per controller: `memory.limit_in_bytes`, `pids.max`, `cpu.cfs_quota_us`.
        case v1 = "cgroup v1"
    }

    /// The interface in use.
    package let version: Version
    /// The group's folders (one per controller in v1, one in v2).
    package let folders: [String]

    /// The interface usable under `root` (default `/sys/fs/cgroup`), or nil with the reason
    /// when neither is: v2 needs `memory` and `pids` in the `cgroup.subtree_control` of its
    /// mount, v1 needs writable `memory` and `pids` hierarchies.
    package static func usable(root: String = "/sys/fs/cgroup") -> Result<(Version, String), Unusable> {
        for unified in [root, root + "/unified"] where FileManager.default.fileExists(atPath: unified + "/cgroup.controllers") {
            let delegated = ((try? String(contentsOfFile: unified + "/cgroup.subtree_control", encoding: .utf8)) ?? "").split(separator: " ")
                .map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
            if delegated.contains("memory"), delegated.contains("pids"), access(unified, W_OK) == 0 { return .success((.v2, unified)) }
        }
        if ["memory", "pids"].allSatisfy({ access(root + "/" + $0 + "/cgroup.procs", W_OK) == 0 }) { return .success((.v1, root)) }
        return .failure(Unusable(reason: "no cgroup v2 with memory and pids delegated, and no writable cgroup v1 memory and pids under '\(root)'"))
    }

    /// Why no control group could be used.
    package struct Unusable: Error, Sendable, CustomStringConvertible {
        /// What was missing or failed.
        package var reason: String
        /// The reason.
        package var description: String { reason }
    }

    /// The CPU quota in microseconds per 100 ms period for `cpus` CPUs: at least 1 ms,
    /// at most 1,024 CPUs' worth, never a trap on a huge or non-finite count.
    static func quota(_ cpus: Double) -> Int {
        guard cpus.isFinite, cpus > 0 else { return 1000 }
        return max(1000, Int(min(cpus, 1024) * 100_000))
    }

    /// Makes a group named `name` (made unique) with `limits`. Fails, with nothing left
    /// behind, when no interface is usable or a limit cannot be written.
    package static func create(name: String, limits: ResourceLimits, root: String = "/sys/fs/cgroup") -> Result<ControlGroup, Unusable> {
        let (version, base): (Version, String)
        switch usable(root: root) {
        case .success(let found): (version, base) = found
        case .failure(let unusable): return .failure(unusable)
        }
        let safe = String(name.map { $0.isLetter || $0.isNumber || "-_.".contains($0) ? $0 : "_" }.prefix(80))
        let leaf = "slipway/\(safe)-\(getpid())-\(UUID().uuidString.prefix(8).lowercased())"
        var writes: [(String, String)] = []
        let folders: [String]
        switch version {
        case .v2:
            let folder = base + "/" + leaf
            folders = [folder]
            writes = [(folder + "/memory.max", "\(limits.memoryBytes)"), (folder + "/pids.max", "\(limits.processes)")]
            // The `slipway` folder passes the controllers on to the groups inside it.
            writes.insert((base + "/slipway/cgroup.subtree_control", "+memory +pids" + (limits.cpus == nil ? "" : " +cpu")), at: 0)
            if let cpus = limits.cpus { writes.append((folder + "/cpu.max", "\(Self.quota(cpus)) 100000")) }
        case .v1:
            let cpu = access(base + "/cpu/cgroup.procs", W_OK) == 0 && limits.cpus != nil
            folders = ["memory", "pids"].map { base + "/" + $0 + "/" + leaf } + (cpu ? [base + "/cpu/" + leaf] : [])
            let memory = folders[0]
            writes = [(memory + "/memory.limit_in_bytes", "\(limits.memoryBytes)"), (folders[1] + "/pids.max", "\(limits.processes)")]
            // Swap counts too, so the tree cannot move past the limit into swap.
            if FileManager.default.fileExists(atPath: memory + "/memory.memsw.limit_in_bytes") {
                writes.append((memory + "/memory.memsw.limit_in_bytes", "\(limits.memoryBytes)"))
            }
            if cpu, let cpus = limits.cpus {
                writes += [(folders[2] + "/cpu.cfs_period_us", "100000"), (folders[2] + "/cpu.cfs_quota_us", "\(Self.quota(cpus))")]
            }
        }
        let group = ControlGroup(version: version, folders: folders)
        for folder in folders {
            if version == .v2 { try? FileManager.default.createDirectory(atPath: base + "/slipway", withIntermediateDirectories: true) }
            do {
                try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            } catch {
                group.remove()
                return .failure(Unusable(reason: "cannot create the \(version.rawValue) group '\(folder)': \(error)"))
            }
        }
        for (file, value) in writes {
            if file.hasSuffix("/slipway/cgroup.subtree_control") {
                _ = try? write(value, to: file)  // already enabled when the group was made before
                continue
            }
            do {
                try write(value, to: file)
            } catch {
                group.remove()
                return .failure(Unusable(reason: "cannot set '\(file)' to \(value): \(error)"))
            }
        }
        return .success(group)
    }

    /// The files a process writes its pid into to join the group (`cgroup.procs` of each folder).
    package var procsFiles: [String] { folders.map { $0 + "/cgroup.procs" } }

    /// The pids in the group now.
    package func members() -> [pid_t] {
        var pids = Set<pid_t>()
        for file in procsFiles {
            let text = (try? String(contentsOfFile: file, encoding: .utf8)) ?? ""
            for line in text.split(separator: "\n") { if let pid = pid_t(line) { pids.insert(pid) } }
        }
        return pids.sorted()
    }

    /// The most memory the tree held at once, in bytes (nil where the kernel does not say).
    package var peakMemoryBytes: Int64? {
        let file = version == .v1 ? folders[0] + "/memory.max_usage_in_bytes" : folders[0] + "/memory.peak"
        return (try? String(contentsOfFile: file, encoding: .utf8)).flatMap { Int64($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
    }

    /// How many processes of the tree the kernel killed for passing the memory limit.
    package var outOfMemoryKills: Int {
        let file = version == .v1 ? folders[0] + "/memory.oom_control" : folders[0] + "/memory.events"
        let text = (try? String(contentsOfFile: file, encoding: .utf8)) ?? ""
        let line = text.split(separator: "\n").first { $0.hasPrefix("oom_kill ") }
        return line.flatMap { Int($0.split(separator: " ").last ?? "") } ?? 0
    }

    /// Whether the tree ever reached its memory limit (an allocation failed or a process was killed for it).
    package var reachedMemoryLimit: Bool {
        if outOfMemoryKills > 0 { return true }
        guard version == .v1 else { return false }
        return ((try? String(contentsOfFile: folders[0] + "/memory.failcnt", encoding: .utf8)).flatMap { Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) } ?? 0) > 0
    }

    /// Kills every process in the group (SIGKILL, repeated until none is left, for up to
    /// about five seconds) and returns how many there were at first.
    @discardableResult
    package func killAll() async -> Int {
        let first = members().count
        if version == .v2 { _ = try? Self.write("1", to: folders[0] + "/cgroup.kill") }
        for _ in 0..<250 {
            let pids = members()
            if pids.isEmpty { break }
            for pid in pids { kill(pid, SIGKILL) }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return first
    }

    /// Removes the group's folders (which must hold no process); what cannot be removed is left.
    package func remove() {
        for folder in folders { rmdir(folder) }
    }

    private static func write(_ value: String, to file: String) throws {
        let fd = open(file, O_WRONLY | O_CLOEXEC)
        guard fd >= 0 else { throw Unusable(reason: String(cString: strerror(errno))) }
        defer { close(fd) }
        let bytes = Array(value.utf8)
        guard Glibc.write(fd, bytes, bytes.count) == bytes.count else { throw Unusable(reason: String(cString: strerror(errno))) }
    }
}
