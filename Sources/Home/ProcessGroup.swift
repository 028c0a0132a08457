import Foundation
import Subprocess
import SystemPackage

/// The swift-subprocess settings every child of Slipway gets, and the ways its process
/// group is ended. A child leads a group of its own (`processGroupID = 0`, on
/// posix_spawn's path: no session, no user or group change), starts with an empty signal
/// mask and default dispositions, and sees only the descriptors it was given.
enum ProcessGroup {
    /// The configuration of `spec`, whose teardown (on cancellation, or when a body throws)
    /// sends SIGTERM to the whole group, then SIGKILL after `grace`.
    static func configuration(_ spec: ProcessSpec, grace: Duration) -> Configuration {
        var options = PlatformOptions()
        options.processGroupID = 0
        options.teardownSequence = teardown(grace: grace)
        var environment: [Environment.Key: String] = [:]
        for (key, value) in spec.environment {
            if let key = Environment.Key(rawValue: key) { environment[key] = value }
        }
        return Configuration(
            executable: .path(FilePath(spec.executable)), arguments: Arguments(spec.arguments), environment: .custom(environment),
            workingDirectory: spec.workingDirectory.map { FilePath($0) }, platformOptions: options)
    }

    /// SIGTERM to the group, SIGKILL to the group after `grace`.
    static func teardown(grace: Duration) -> [TeardownStep] {
        [.send(signal: .terminate, toProcessGroup: true, allowedDurationToNextStep: grace)]
    }

    /// Checks what swift-subprocess would otherwise report less clearly: an executable that
    /// is not an absolute path to a program, a working folder that does not exist.
    static func check(_ spec: ProcessSpec) throws(ProcessError) {
        guard spec.executable.hasPrefix("/") else {
            throw ProcessError(operation: "start", subject: spec.executable, reason: "not an absolute path",
                               hint: "give the program's full path (Processes.which finds one on PATH)")
        }
        guard access(spec.executable, X_OK) == 0 else {
            throw ProcessError.system("start", spec.executable, errno: errno, hint: "check that it is installed and executable")
        }
        if let folder = spec.workingDirectory {
            var isFolder: ObjCBool = false
            guard FileManager.default.fileExists(atPath: folder, isDirectory: &isFolder), isFolder.boolValue else {
                throw ProcessError(operation: "start \(spec.executable) in", subject: folder, reason: "no such folder",
                                   hint: "create it, or run the command elsewhere")
            }
        }
    }

    /// Whether the group leader `pid` has exited; it stays unreaped (a zombie keeps the
    /// group's id ours, so signalling the group cannot reach a stranger).
    static func leaderExited(_ pid: pid_t) -> Bool {
        var info = siginfo_t()
        while waitid(P_PID, id_t(pid), &info, WEXITED | WNOHANG | WNOWAIT) != 0 {
            if errno == EINTR { continue }
            return true  // ECHILD: already reaped
        }
        return info._sifields._sigchld.si_pid != 0
    }

    /// Waits until the leader has exited, without reaping it; when the calling task is
    /// cancelled meanwhile, ends the group first (SIGTERM, `grace`, SIGKILL).
    static func waitForLeader<I: InputProtocol, O: OutputProtocol, E: OutputProtocol>(_ execution: Execution<I, O, E>, grace: Duration) async {
        var delay = Duration.milliseconds(2)
        while !leaderExited(execution.processIdentifier.value) {
            if Task.isCancelled {
                await execution.teardown(using: teardown(grace: grace))
                continue
            }
            // A cancelled sleep ends early; the loop then tears the group down.
            try? await Task.sleep(for: delay)
            delay = min(delay * 2, .milliseconds(100))
        }
    }

    /// SIGKILL to the group of an exited (unreaped) leader: whatever it left running.
    static func killRemaining(_ pid: pid_t) {
        kill(-pid, SIGKILL)
    }

    /// The exit status as a shell reports it: the code, or 128 + N for signal N.
    static func status(_ termination: TerminationStatus) -> Int32 {
        switch termination {
        case .exited(let code): return code
        case .signaled(let signal): return 128 + signal
        }
    }

    /// A read-only descriptor of `path` (O_CLOEXEC), for a child's standard input.
    static func openInput(_ path: String) throws(ProcessError) -> FileDescriptor {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw ProcessError.system("open the input file", path, errno: errno, hint: "check that it exists and is readable") }
        return FileDescriptor(rawValue: fd)
    }

    /// An appending descriptor of `path` (O_CLOEXEC, created when missing), or /dev/null.
    static func openAppending(_ path: String?) throws(ProcessError) -> FileDescriptor {
        let fd = open(path ?? "/dev/null", O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            throw ProcessError.system("open the log file", path ?? "/dev/null", errno: errno, hint: "check that its folder exists and is writable")
        }
        return FileDescriptor(rawValue: fd)
    }

    /// A swift-subprocess failure to start, in our words.
    static func startFailure(_ spec: ProcessSpec, _ error: any Error) -> ProcessError {
        ProcessError(operation: "start", subject: spec.commandLine, reason: "\(error)", hint: "check the program and its arguments")
    }
}
