import Foundation

/// The one bubblewrap sandbox all model code runs in: stage jobs, endpoint workers, build
/// steps, venv and pip. The command runs as an unprivileged user (uid 65534) in a user
/// namespace of its own, with no capabilities, in new pid, ipc, uts and (unless `network`)
/// network namespaces, in a new session, and dies with the process that started it. It
/// sees only what it was given: `isolated(reading:)`'s system folders (`/usr`, the `/lib`
/// links, a few files of `/etc`), a private `/tmp`, `/dev` and `/proc`, then `mounts` in
/// order (later ones on top). No home, no `/root`, no `/etc/shadow`, no registry. For a
/// worker, for example:
///
///     var sandbox = Sandbox.isolated(reading: Sandbox.interpreterFolders(python))
///     sandbox.mounts += [.readOnly(code, at: "/opt/ml/code"), .readOnly(model, at: "/opt/ml/model")]
///     sandbox.limits = ResourceLimits(memoryBytes: 1 << 30, cpus: 1)
///     let result = try await sandbox.run(python, ["/opt/ml/code/serve.py"], environment: environment, name: "worker")
///
/// The `limits` hold for the whole tree the command starts (`ControlGroup`).
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
        /// A symbolic link (`--symlink TARGET PATH`).
        case link(String, at: String)

        var arguments: [String] {
            switch self {
            case .readOnly(let host, let inside): return ["--ro-bind", host, inside]
            case .writable(let host, let inside): return ["--bind", host, inside]
            case .temporary(let inside): return ["--tmpfs", inside]
            case .devices(let inside): return ["--dev", inside]
            case .processes(let inside): return ["--proc", inside]
            case .link(let target, let inside): return ["--symlink", target, inside]
            }
        }
    }

    /// bubblewrap's path.
    package static let bubblewrap = "/usr/bin/bwrap"
    /// The user and group the command runs as inside its user namespace: `nobody`.
    package static let unprivilegedID = 65534
    /// The files of `/etc` a Python program may need, bound read-only when they exist
    /// (certificates, the dynamic linker's cache, name resolution, time zone, pip's settings).
    package static let etcFiles = [
        "/etc/ssl", "/etc/ca-certificates", "/etc/alternatives", "/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d",
        "/etc/localtime", "/etc/mime.types", "/etc/pip.conf", "/etc/python3", "/etc/python3.11",
    ]
    /// What a command with network access also needs from `/etc` to resolve names.
    package static let networkFiles = ["/etc/resolv.conf", "/etc/hosts", "/etc/nsswitch.conf", "/etc/host.conf", "/etc/gai.conf"]

    /// What the command sees, in order; a later mount covers what an earlier one put there.
    package var mounts: [Mount]
    /// Whether the command may use the network (false: a network namespace of its own).
    /// Set it before `isolated` adds the name-resolution files, or add them yourself.
    package var network = false
    /// Where the command starts inside the sandbox; nil: where bubblewrap starts.
    package var workingDirectory: String?
    /// The limits of the command's whole tree; nil: none.
    package var limits: ResourceLimits?
    /// Whether the sandboxed command dies with the process that started bubblewrap.
    package var dieWithParent = true

    /// A sandbox with exactly `mounts`.
    package init(mounts: [Mount]) { self.mounts = mounts }

    /// The system a program needs and nothing else: `/usr` read-only and the merged-usr
    /// links (`/bin`, `/lib`, ...; bound read-only where the host has real folders), the
    /// `etcFiles` (and `networkFiles` when `network`), a fresh `/dev`, `/proc` and `/tmp`,
    /// then `reading` (an interpreter's prefix, a venv) read-only at their own paths.
    package static func isolated(reading: [String] = [], network: Bool = false) -> Sandbox {
        var mounts: [Mount] = [.processes(at: "/proc"), .devices(at: "/dev"), .temporary(at: "/tmp"), .readOnly("/usr", at: "/usr")]
        for top in ["/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"] {
            if let target = try? FileManager.default.destinationOfSymbolicLink(atPath: top) {
                mounts.append(.link(target, at: top))
            } else if FileManager.default.fileExists(atPath: top) {
                mounts.append(.readOnly(top, at: top))
            }
        }
        for file in etcFiles + (network ? networkFiles : []) where FileManager.default.fileExists(atPath: file) {
            mounts.append(.readOnly(file, at: file))
        }
        mounts += reading.filter { !$0.hasPrefix("/usr/") && $0 != "/usr" }.map { .readOnly($0, at: $0) }
        var sandbox = Sandbox(mounts: mounts)
        sandbox.network = network
        return sandbox
    }

    /// The host folders an interpreter needs to run: for a venv's `bin/python`, the venv and
    /// the prefix its `pyvenv.cfg` names (`home = /opt/python/bin` → `/opt/python`); for any
    /// other, the prefix of the file it resolves to. Folders under `/usr` are left out
    /// (`isolated` binds `/usr`).
    package static func interpreterFolders(_ python: String) -> [String] {
        var folders: [String] = []
        let bin = (python as NSString).deletingLastPathComponent
        let venv = (bin as NSString).deletingLastPathComponent
        if let config = try? String(contentsOfFile: venv + "/pyvenv.cfg", encoding: .utf8) {
            folders.append(venv)
            for line in config.split(separator: "\n") {
                let parts = line.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
                if parts.count == 2, parts[0] == "home" { folders.append(prefix(ofBinFolder: parts[1])) }
            }
        }
        let resolved = (python as NSString).resolvingSymlinksInPath
        folders.append(prefix(ofBinFolder: (resolved as NSString).deletingLastPathComponent))
        var seen = Set<String>()
        return folders.filter { $0 != "/" && $0 != "/usr" && !$0.hasPrefix("/usr/") && seen.insert($0).inserted }
    }

    private static func prefix(ofBinFolder folder: String) -> String {
        folder.hasSuffix("/bin") ? (folder as NSString).deletingLastPathComponent : folder
    }

    /// bubblewrap's arguments before `--` and the command.
    package var bubblewrapArguments: [String] {
        let id = "\(Self.unprivilegedID)"
        var arguments = ["--unshare-user", "--uid", id, "--gid", id, "--unshare-pid", "--unshare-ipc", "--unshare-uts", "--hostname", "sandbox"]
        if !network { arguments.append("--unshare-net") }
        arguments.append("--new-session")
        if dieWithParent { arguments.append("--die-with-parent") }
        arguments += ["--cap-drop", "ALL"]
        arguments += mounts.flatMap(\.arguments)
        // bubblewrap's own root (a tmpfs holding the mount points) becomes read-only last:
        // only the writable binds and the temporary folders take writes.
        arguments += ["--remount-ro", "/"]
        if let workingDirectory { arguments += ["--chdir", workingDirectory] }
        return arguments
    }

    /// The command line without limits: bubblewrap, then `executable` and `arguments`.
    package func commandLine(_ executable: String, _ arguments: [String]) -> [String] {
        [Self.bubblewrap] + bubblewrapArguments + ["--", executable] + arguments
    }
}
