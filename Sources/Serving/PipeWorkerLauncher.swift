import Foundation
import Registry

/// The real launcher: `slipway_worker.py` in a bubblewrap sandbox (the code and the model
/// read-only at `/opt/ml/code` and `/opt/ml/model`, a writable `/opt/ml/tmp`, the rest of
/// the machine read-only, no network, the memory limit of the serve stage), in a process
/// group of its own, its stderr appended to the variant's log.
///
/// Interim: it spawns with posix_spawn and does the blocking pipe I/O on a thread of each
/// worker's own, until the shared process layer (`Processes.withChild` in `Home`) exists;
/// then this file becomes a thin use of it.
struct PipeWorkerLauncher: WorkerLauncher {
    func withWorker(_ spec: WorkerSpec, id: String, clock: ServingClock, grace: Duration,
                    _ body: @escaping @Sendable (any WorkerConnection) async throws -> Void) async throws {
        let connection = try PipeConnection(id: id, spec: spec)
        let failure: (any Error)?
        do {
            try await body(connection)
            failure = nil
        } catch {
            failure = error
        }
        connection.closeInput()
        _ = await clock.deadline(grace, onTimeout: { connection.kill() }) { await connection.exited.value }
        if let failure { throw failure }
    }

    /// The sandboxed command line of a worker.
    static func command(_ spec: WorkerSpec) -> [String] {
        ["/usr/bin/prlimit", "--as=\(spec.memoryBytes)", "--", "/usr/bin/bwrap",
         "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--tmpfs", "/opt", "--dir", "/opt/ml/tmp",
         "--ro-bind", spec.code, "/opt/ml/code", "--ro-bind", spec.modelFolder, "/opt/ml/model",
         "--ro-bind", spec.workerScript, "/opt/slipway/slipway_worker.py",
         "--unshare-net", "--die-with-parent", "--chdir", "/opt/ml/code", "--",
         spec.python, "/opt/slipway/slipway_worker.py"]
    }

    /// A worker's environment: SageMaker's variables for the serve script.
    static func environment(_ spec: WorkerSpec) -> [String] {
        ["PATH=/usr/local/bin:/usr/bin:/bin", "PYTHONUNBUFFERED=1", "PYTHONDONTWRITEBYTECODE=1", "HOME=/opt/ml/tmp", "TMPDIR=/opt/ml/tmp",
         "SAGEMAKER_PROGRAM=\(spec.script)", "SM_MODEL_DIR=/opt/ml/model", "SLIPWAY_CODE_DIR=/opt/ml/code",
         "OMP_NUM_THREADS=1", "OPENBLAS_NUM_THREADS=1", "MKL_NUM_THREADS=1"]
    }
}

/// One worker process and the thread that does its blocking pipe I/O, one exchange at a time.
private final class PipeConnection: WorkerConnection, @unchecked Sendable {
    let pid: Int32
    let exited = Promise<Void>()
    private let toWorker: Int32
    private let fromWorker: Int32
    private let lock = NSCondition()
    private var queue: [(frame: WorkerFrame?, done: CheckedContinuation<WorkerFrame?, Never>)] = []
    private var closed = false

    init(id: String, spec: WorkerSpec) throws(WorkerError) {
        signal(SIGPIPE, SIG_IGN)  // a worker that dies must not take the agent with it
        var input: [Int32] = [0, 0]
        var output: [Int32] = [0, 0]
        guard pipe(&input) == 0 else { throw WorkerError("pipe failed: \(String(cString: strerror(errno)))") }
        guard pipe(&output) == 0 else {
            input.forEach { close($0) }
            throw WorkerError("pipe failed: \(String(cString: strerror(errno)))")
        }
        for fd in input + output { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        var log = open(spec.logFile, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        if log < 0 { log = open("/dev/null", O_WRONLY | O_CLOEXEC) }
        defer { if log >= 0 { close(log) } }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, input[0], 0)
        posix_spawn_file_actions_adddup2(&actions, output[1], 1)
        posix_spawn_file_actions_adddup2(&actions, log, 2)
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var empty = sigset_t()
        sigemptyset(&empty)
        posix_spawnattr_setsigmask(&attributes, &empty)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for number in [SIGTERM, SIGINT, SIGPIPE, SIGCHLD] { sigaddset(&defaults, number) }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setpgroup(&attributes, 0)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP))
        let command = PipeWorkerLauncher.command(spec)
        let argv = command.map { strdup($0) } + [nil]
        let envp = PipeWorkerLauncher.environment(spec).map { strdup($0) } + [nil]
        defer {
            argv.forEach { free($0) }
            envp.forEach { free($0) }
        }
        var child: pid_t = 0
        let spawned = posix_spawn(&child, command[0], &actions, &attributes, argv, envp)
        close(input[0])
        close(output[1])
        guard spawned == 0 else {
            close(input[1])
            close(output[0])
            throw WorkerError("cannot start worker '\(id)' (\(command[0])): \(String(cString: strerror(spawned)))")
        }
        pid = child
        toWorker = input[1]
        fromWorker = output[0]
        let thread = Thread { [self] in serve() }
        thread.name = "slipway-worker-\(id)"
        thread.start()
    }

    func exchange(_ frame: WorkerFrame?) async -> WorkerFrame? {
        await withCheckedContinuation { continuation in
            lock.lock()
            guard !closed else {
                lock.unlock()
                continuation.resume(returning: nil)
                return
            }
            queue.append((frame, continuation))
            lock.signal()
            lock.unlock()
        }
    }

    func kill() { _ = Glibc.kill(-pid, SIGKILL) }

    /// No more exchanges: the worker reads the end of its input and exits.
    func closeInput() {
        lock.lock()
        closed = true
        lock.signal()
        lock.unlock()
    }

    private func serve() {
        while true {
            lock.lock()
            while queue.isEmpty && !closed { lock.wait() }
            if queue.isEmpty {
                lock.unlock()
                break
            }
            let job = queue.removeFirst()
            lock.unlock()
            if let frame = job.frame, !FrameIO.write(toWorker, frame.encoded) {
                job.done.resume(returning: nil)
                break
            }
            guard let answer = FrameIO.read(fromWorker) else {
                job.done.resume(returning: nil)
                break
            }
            job.done.resume(returning: answer)
        }
        lock.lock()
        closed = true
        let left = queue
        queue.removeAll()
        lock.unlock()
        for job in left { job.done.resume(returning: nil) }
        close(toWorker)
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        _ = Glibc.kill(-pid, SIGKILL)  // whatever the worker left in its group
        close(fromWorker)
        exited.fulfil(())
    }
}

/// Blocking frame I/O on a pipe (the interim launcher's thread).
enum FrameIO {
    static func write(_ fd: Int32, _ bytes: [UInt8]) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { return false }
            offset += n
        }
        return true
    }

    static func read(_ fd: Int32) -> WorkerFrame? {
        guard let prefix = readExactly(fd, 4) else { return nil }
        let count = WorkerFrame.headerLength(prefix)
        guard count <= WorkerFrame.maxHeaderBytes, let text = readExactly(fd, count), let header = try? JSONValue(parsing: text) else { return nil }
        let length = Int(header["length"]?.intValue ?? 0)
        guard length >= 0, let body = readExactly(fd, length) else { return nil }
        return WorkerFrame(header: header, body: body)
    }

    private static func readExactly(_ fd: Int32, _ count: Int) -> [UInt8]? {
        var bytes = [UInt8](repeating: 0, count: count)
        var offset = 0
        while offset < count {
            let n = bytes[offset...].withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { return nil }
            offset += n
        }
        return bytes
    }
}
