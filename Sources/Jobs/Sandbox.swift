import Foundation
import Home

/// A bubblewrap sandbox for one command, and the limits around it: what the command sees
/// (mounts, in order, later ones on top), whether it has a network, where it starts, and
/// its address-space limit (`prlimit --as`) and CPU pinning (`taskset`). Stage jobs and
/// endpoint workers share it. For a worker, for example:
///
///     var sandbox = Sandbox.hostReadOnly()
///     sandbox.mounts += [.readOnly(code, at: "/opt/ml/code"), .readOnly(model, at: "/opt/ml/model"), .temporary(at: "/tmp")]
///     sandbox.memoryBytes = 1 << 30
///     let spec = sandbox.processSpec(python, ["/opt/ml/code/serve.py"], environment: environment)
///     try await Processes.withChild(spec, errorLog: log) { worker in ... }
package struct Sandbox: Sendable, Equatable {
    /// One mount inside the sandbox.
    package enum Mount: Sendable, Equatable {
        /// A host file or folder, read-only (`--ro-bind`).
        case readOnly(String, at: String)
        /// A host file or folder, writable (`--bind`).
        case writable(String, at: String)
        /// An empty writable folder in memory (`--tmpfs`).
        case temporary(at: String)
        /// A minimal `/dev` (`--dev`).
        case devices(at: String)
        /// A `/proc` (`--proc`).
        case processes(at: String)

        var arguments: [String] {
            switch self {
            case .readOnly(let host, let inside): return ["--ro-bind", host, inside]
            case .writable(let host, let inside): return ["--bind", host, inside]
            case .temporary(let inside): return ["--tmpfs", inside]
            case .devices(let inside): return ["--dev", inside]
            case .processes(let inside): return ["--proc", inside]
            }
        }
    }

    /// bubblewrap's path.
    package static let bubblewrap = "/usr/bin/bwrap"
    /// prlimit's path.
    package static let prlimit = "/usr/bin/prlimit"
    /// taskset's path.
    package static let taskset = "/usr/bin/taskset"

    /// What the command sees, in order; a later mount covers what an earlier one put there.
    package var mounts: [Mount]
    /// Whether the command may use the network (false: a network namespace of its own).
    package var network = false
    /// Where the command starts inside the sandbox; nil: where bubblewrap starts.
    package var workingDirectory: String?
    /// The address-space limit of the command (`prlimit --as`); nil: none.
    package var memoryBytes: Int64?
    /// Pins the command to `ceil(cpus)` of the CPUs this process may use; nil: no pinning.
    package var cpus: Double?
    /// Whether the sandboxed command dies with the process that started bubblewrap.
    package var dieWithParent = true

    /// A sandbox with exactly `mounts`.
    package init(mounts: [Mount]) { self.mounts = mounts }

    /// The machine read-only at `/`, a fresh `/dev` and `/proc`, and an empty in-memory
    /// `/opt` for SageMaker's `/opt/ml` (what stage jobs have always seen).
    package static func hostReadOnly() -> Sandbox {
        Sandbox(mounts: [.readOnly("/", at: "/"), .devices(at: "/dev"), .processes(at: "/proc"), .temporary(at: "/opt")])
    }

    /// bubblewrap's arguments before `--` and the command.
    package var bubblewrapArguments: [String] {
        mounts.flatMap(\.arguments) + (network ? [] : ["--unshare-net"]) + (dieWithParent ? ["--die-with-parent"] : [])
            + (workingDirectory.map { ["--chdir", $0] } ?? [])
    }

    /// The full command line: the limits' prefix, bubblewrap, then `executable` and `arguments`.
    package func commandLine(_ executable: String, _ arguments: [String]) -> [String] {
        let pinning = cpus.map(Self.pinning(cpus:)) ?? []
        let limit = memoryBytes.map { [Self.prlimit, "--as=\($0)", "--"] } ?? []
        return limit + pinning + [Self.bubblewrap] + bubblewrapArguments + ["--", executable] + arguments
    }

    /// The process layer's spec of `executable` with `arguments` in this sandbox, with
    /// exactly `environment`.
    package func processSpec(_ executable: String, _ arguments: [String], environment: [String: String]) -> ProcessSpec {
        let command = commandLine(executable, arguments)
        return ProcessSpec(command[0], Array(command.dropFirst()), environment: environment)
    }

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
