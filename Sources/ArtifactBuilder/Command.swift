import Foundation

/// A finished child process: its exit status and combined output.
package struct CommandResult: Sendable {
    /// The exit status; 128 + N when signal N ended it.
    package var status: Int32
    package var output: String
    /// Whether the deadline passed and the process group was killed.
    package var timedOut: Bool = false
    package var succeeded: Bool { status == 0 && !timedOut }
}

/// Runs short build-time commands (venv creation, pip, build steps) to completion.
///
/// Each command runs in a process group of its own with an empty signal mask (posix_spawn),
/// so a deadline kills all of it, including anything it left running in the background
/// that still holds its output open. Synchronous: call it from a build thread, never from
/// the Swift concurrency pool.
package enum Command {
    /// Runs `executable` with `arguments` in `directory`, adding `environment` to this
    /// process's environment; standard output and error are captured together. After
    /// `timeout` seconds the whole process group is killed. With `outputFile`, the output
    /// is also written there as it arrives, so that another process can follow it. With
    /// `inputFile`, that file is the command's standard input (else `/dev/null`).
    package static func run(
        _ executable: String, _ arguments: [String], in directory: String? = nil, environment: [String: String] = [:],
        timeout: Double? = nil, outputFile: String? = nil, inputFile: String? = nil
    ) throws -> CommandResult {
        let live = outputFile.map { Glibc.open($0, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644) } ?? -1
        defer { if live >= 0 { close(live) } }
        var pipe: [Int32] = [0, 0]
        guard Glibc.pipe(&pipe) == 0 else { throw BuildFailure("pipe failed: \(String(cString: strerror(errno)))") }
        for fd in pipe { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, inputFile ?? "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, pipe[1], 1)
        posix_spawn_file_actions_adddup2(&actions, pipe[1], 2)
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var empty = sigset_t()
        sigemptyset(&empty)
        posix_spawnattr_setsigmask(&attributes, &empty)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in [SIGTERM, SIGINT, SIGPIPE, SIGCHLD] { sigaddset(&defaults, signal) }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setpgroup(&attributes, 0)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP))

        // posix_spawn has no portable chdir: a tiny sh prelude changes folder, then execs.
        let command = directory.map { ["/bin/sh", "-c", "cd \"$1\" && shift && exec \"$@\"", "sh", $0, executable] + arguments }
            ?? [executable] + arguments
        let argv = command.map { strdup($0) } + [nil]
        let merged = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let envp = merged.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            argv.forEach { free($0) }
            envp.forEach { free($0) }
        }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, command[0], &actions, &attributes, argv, envp)
        close(pipe[1])
        guard spawned == 0 else {
            close(pipe[0])
            throw BuildFailure("cannot run '\(executable)': \(String(cString: strerror(spawned)))")
        }

        let deadline = timeout.map { Date().addingTimeInterval($0) }
        var output = Data()
        var buffer = [UInt8](repeating: 0, count: 65536)
        var timedOut = false
        var status: Int32 = 0
        var reaped = false
        while true {
            var descriptor = pollfd(fd: pipe[0], events: Int16(POLLIN), revents: 0)
            let wait = deadline.map { Int32(max(0, min($0.timeIntervalSinceNow * 1000, 1000))) } ?? 1000
            let ready = poll(&descriptor, 1, wait)
            if ready > 0 {
                let n = read(pipe[0], &buffer, buffer.count)
                if n > 0 {
                    output.append(contentsOf: buffer[0..<n])
                    if live >= 0 { _ = buffer.withUnsafeBytes { write(live, $0.baseAddress, n) } }
                    continue
                }
                if n == 0 { break }
                if errno == EINTR { continue }
                break
            }
            if let deadline, Date() >= deadline {
                timedOut = true
                kill(-pid, SIGKILL)
                break
            }
            // The command ended but something it started still holds the pipe: stop there.
            if waitpid(pid, &status, WNOHANG) == pid {
                reaped = true
                break
            }
        }
        close(pipe[0])
        if !reaped {
            while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        }
        kill(-pid, SIGKILL)  // whatever the command left running in its group
        let exit = (status & 0x7F) == 0 ? (status >> 8) & 0xFF : 128 + (status & 0x7F)
        return CommandResult(status: exit, output: String(decoding: output, as: UTF8.self), timedOut: timedOut)
    }

    /// The absolute path of `name` on `PATH`, or nil.
    package static func which(_ name: String) -> String? {
        if name.contains("/") { return FileManager.default.isExecutableFile(atPath: name) ? name : nil }
        for folder in (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":") {
            let candidate = "\(folder)/\(name)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }
}
