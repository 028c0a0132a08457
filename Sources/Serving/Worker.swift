import Foundation
import Registry
import Synchronization

/// A request for a model, as the HTTP front received it.
package struct Invocation: Sendable {
    package var body: [UInt8]
    package var contentType: String
    package var accept: String

    package init(body: [UInt8], contentType: String, accept: String) {
        self.body = body
        self.contentType = contentType
        self.accept = accept
    }
}

/// A model's answer: an HTTP-like status, the body and its type; `error` when it failed.
package struct InvocationResult: Sendable {
    package var status: Int
    package var contentType: String
    package var body: [UInt8]
    package var error: String?

    static func failure(_ status: Int, _ message: String) -> InvocationResult {
        InvocationResult(status: status, contentType: "application/json", body: Array(JSONValue.object(["error": .string(message)]).serialized().utf8), error: message)
    }
}

/// What a worker process needs: the variant's code, interpreter, unpacked model and limits.
struct WorkerSpec: Sendable {
    var code: String
    var script: String
    var python: String
    var modelFolder: String
    var workerScript: String
    var memoryBytes: Int64
    var logFile: String
}

/// One Python worker process (`slipway_worker.py`) in a bubblewrap sandbox: the code and
/// the model read-only at `/opt/ml/code` and `/opt/ml/model`, a writable `/opt/ml/tmp`,
/// the rest of the machine read-only, no network, the memory limit of the serve stage. It serves one request at a time; a thread of its own does the
/// blocking pipe I/O, so the Swift concurrency pool never waits on a model.
final class Worker: @unchecked Sendable {
    let id: String
    let pid: pid_t
    private let toWorker: Int32
    private let fromWorker: Int32
    private let lock = NSCondition()
    private var queue: [(header: JSONValue, body: [UInt8], done: @Sendable (Result<(JSONValue, [UInt8]), WorkerError>) -> Void)] = []
    private var closed = false
    private let exited = Atomic<Bool>(false)
    /// Requests queued or running on this worker.
    let inFlight = Atomic<Int>(0)

    var isAlive: Bool { !exited.load(ordering: .relaxed) }

    /// Starts the process (it loads its model in the background: see `ready`).
    init(id: String, spec: WorkerSpec) throws(WorkerError) {
        self.id = id
        signal(SIGPIPE, SIG_IGN)  // a worker that dies must not take the agent with it
        var input: [Int32] = [0, 0]
        var output: [Int32] = [0, 0]
        // Glibc's pipe2 is not visible to Swift here: pipe, then close-on-exec (a spawn on
        // another thread in between could inherit the ends; see the session note).
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

        let command = ["/usr/bin/prlimit", "--as=\(spec.memoryBytes)", "--", "/usr/bin/bwrap",
                       "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--tmpfs", "/opt", "--dir", "/opt/ml/tmp",
                       "--ro-bind", spec.code, "/opt/ml/code", "--ro-bind", spec.modelFolder, "/opt/ml/model",
                       "--ro-bind", spec.workerScript, "/opt/slipway/slipway_worker.py",
                       "--unshare-net", "--die-with-parent", "--chdir", "/opt/ml/code", "--",
                       spec.python, "/opt/slipway/slipway_worker.py"]
        let environment = [
            "PATH=/usr/local/bin:/usr/bin:/bin", "PYTHONUNBUFFERED=1", "PYTHONDONTWRITEBYTECODE=1", "HOME=/opt/ml/tmp", "TMPDIR=/opt/ml/tmp",
            "SAGEMAKER_PROGRAM=\(spec.script)", "SM_MODEL_DIR=/opt/ml/model", "SLIPWAY_CODE_DIR=/opt/ml/code",
            "OMP_NUM_THREADS=1", "OPENBLAS_NUM_THREADS=1", "MKL_NUM_THREADS=1",
        ]
        let argv = command.map { strdup($0) } + [nil]
        let envp = environment.map { strdup($0) } + [nil]
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
            throw WorkerError("cannot start a worker: \(String(cString: strerror(spawned)))")
        }
        pid = child
        toWorker = input[1]
        fromWorker = output[0]
        let thread = Thread { [self] in serve() }
        thread.name = "slipway-worker-\(id)"
        thread.start()
    }

    /// Waits for the worker's first frame: its model loaded (`ready`) or why not. Past
    /// `timeout` seconds the worker is killed and the wait fails.
    func ready(timeout: Double) async throws(WorkerError) {
        let header = try await exchange(nil, timeout: timeout).0
        guard header["ready"] == true else {
            throw WorkerError("the model did not load: \(header["error"]?.stringValue ?? "the worker exited")")
        }
    }

    /// A ping: the worker answers when it is idle and alive.
    func ping(timeout: Double) async throws(WorkerError) {
        let header = try await exchange((["op": "ping"], []), timeout: timeout).0
        guard header["status"] == 200 else { throw WorkerError("ping failed: \(header.serialized())") }
    }

    /// Sends one request to the model and returns its answer. A worker that takes past
    /// `timeout` is killed (it is stuck), and the request fails with 504.
    func invoke(_ invocation: Invocation, timeout: Double) async -> InvocationResult {
        let header: JSONValue = ["op": "invoke", "content_type": .string(invocation.contentType), "accept": .string(invocation.accept),
                                 "length": .int(Int64(invocation.body.count))]
        do {
            let (answer, body) = try await exchange((header, invocation.body), timeout: timeout)
            let status = Int(answer["status"]?.intValue ?? 500)
            if status == 200 {
                return InvocationResult(status: 200, contentType: answer["content_type"]?.stringValue ?? "application/json", body: body)
            }
            return .failure(status, answer["error"]?.stringValue ?? "the model failed")
        } catch {
            return .failure(error.timedOut ? 504 : 500, error.message)
        }
    }

    /// Closes the worker's input: it exits once it has answered what it holds. Killed after `grace` seconds.
    func stop(grace: Double = 5) {
        lock.lock()
        closed = true
        lock.signal()
        lock.unlock()
        let pid = self.pid
        DispatchQueue.global().asyncAfter(deadline: .now() + grace) { [weak self] in
            if self?.isAlive ?? false { kill(-pid, SIGKILL) }
        }
    }

    /// Queues one exchange (nil: read the ready frame) and waits for it.
    private func exchange(_ request: (JSONValue, [UInt8])?, timeout: Double) async throws(WorkerError) -> (JSONValue, [UInt8]) {
        inFlight.add(1, ordering: .relaxed)
        defer { inFlight.subtract(1, ordering: .relaxed) }
        let result: Result<(JSONValue, [UInt8]), WorkerError> = await withCheckedContinuation { continuation in
            let finished = Atomic<Bool>(false)
            let done: @Sendable (Result<(JSONValue, [UInt8]), WorkerError>) -> Void = { result in
                if !finished.exchange(true, ordering: .relaxed) { continuation.resume(returning: result) }
            }
            lock.lock()
            if closed || !isAlive {
                lock.unlock()
                done(.failure(WorkerError("the worker has stopped")))
                return
            }
            queue.append((request?.0 ?? .null, request?.1 ?? [], done))
            lock.signal()
            lock.unlock()
            let pid = self.pid
            DispatchQueue.global().asyncAfter(deadline: .now() + timeout) { [weak self] in
                guard !finished.load(ordering: .relaxed), self?.isAlive ?? false else { return }
                kill(-pid, SIGKILL)
                done(.failure(WorkerError("no answer within \(Int(timeout)) s; the worker was stopped", timedOut: true)))
            }
        }
        return try result.get()
    }

    /// The worker's thread: one exchange at a time until the input closes or the process dies.
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
            if job.header != .null, !FrameIO.write(toWorker, header: job.header, body: job.body) {
                job.done(.failure(WorkerError("the worker exited (see its log)")))
                break
            }
            guard let answer = FrameIO.read(fromWorker) else {
                job.done(.failure(WorkerError("the worker exited (see its log)")))
                break
            }
            job.done(.success(answer))
        }
        close(toWorker)
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        kill(-pid, SIGKILL)
        close(fromWorker)
        exited.store(true, ordering: .relaxed)
        lock.lock()
        let left = queue
        queue.removeAll()
        closed = true
        lock.unlock()
        for job in left { job.done(.failure(WorkerError("the worker exited (see its log)"))) }
    }
}

/// Why a worker could not answer.
package struct WorkerError: Error, Sendable, CustomStringConvertible {
    package var message: String
    var timedOut = false
    init(_ message: String, timedOut: Bool = false) {
        self.message = message
        self.timedOut = timedOut
    }
    package var description: String { message }
}

/// The worker protocol's frames: a 4-byte big-endian header length, the JSON header, then
/// `length` bytes of body.
enum FrameIO {
    static func write(_ fd: Int32, header: JSONValue, body: [UInt8]) -> Bool {
        let text = Array(header.serialized().utf8)
        let count = UInt32(text.count)
        let prefix: [UInt8] = [UInt8(count >> 24), UInt8((count >> 16) & 0xFF), UInt8((count >> 8) & 0xFF), UInt8(count & 0xFF)]
        return writeAll(fd, prefix + text) && writeAll(fd, body)
    }

    static func read(_ fd: Int32) -> (JSONValue, [UInt8])? {
        guard let prefix = readExactly(fd, 4) else { return nil }
        let count = prefix.reduce(0) { $0 << 8 | Int($1) }
        guard count <= 1 << 20, let text = readExactly(fd, count), let header = try? JSONValue(parsing: text) else { return nil }
        let length = Int(header["length"]?.intValue ?? 0)
        guard length >= 0, let body = readExactly(fd, length) else { return nil }
        return (header, body)
    }

    private static func writeAll(_ fd: Int32, _ bytes: [UInt8]) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { return false }
            offset += n
        }
        return true
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
