import Registry
import Synchronization
@testable import Serving

/// Workers in memory: each "process" answers `ready`, pings, and invocations through
/// `model`, which may wait on the test's clock to play a slow model.
final class MemoryLauncher: WorkerLauncher {
    typealias Model = @Sendable (_ spec: WorkerSpec, _ request: JSONValue) async -> JSONValue
    let model: Model
    private let counters = Mutex((started: 0, live: 0))

    init(model: @escaping Model = { $1 }) { self.model = model }

    /// Workers started so far, and those whose lifetime has not ended.
    var started: Int { counters.withLock { $0.started } }
    var live: Int { counters.withLock { $0.live } }

    func withWorker(_ spec: WorkerSpec, id: String, clock: ServingClock, grace: Duration,
                    _ body: @escaping @Sendable (any WorkerConnection) async throws -> Void) async throws {
        let pid = counters.withLock { counters in
            counters.started += 1
            counters.live += 1
            return Int32(1000 + counters.started)
        }
        defer { counters.withLock { $0.live -= 1 } }
        try await body(MemoryConnection(pid: pid, spec: spec, model: model))
    }
}

final class MemoryConnection: WorkerConnection {
    let pid: Int32
    private let spec: WorkerSpec
    private let model: MemoryLauncher.Model
    private let killed = Flag()

    init(pid: Int32, spec: WorkerSpec, model: @escaping MemoryLauncher.Model) {
        self.pid = pid
        self.spec = spec
        self.model = model
    }

    func kill() { killed.set() }

    func exchange(_ frame: WorkerFrame?) async -> WorkerFrame? {
        guard !killed.isSet else { return nil }
        guard let frame else {
            // A model that never loads: the worker waits until it is killed.
            while spec.code == "never-loads" && !killed.isSet && !Task.isCancelled { try? await Task.sleep(for: .milliseconds(1)) }
            return killed.isSet ? nil : WorkerFrame(header: ["ready": true])
        }
        if frame.header["op"] == "ping" { return WorkerFrame(header: ["status": 200]) }
        let (model, spec, killed) = (self.model, self.spec, self.killed)
        return await withTaskGroup(of: WorkerFrame??.self) { group in
            group.addTask {
                let request = (try? JSONValue(parsing: frame.body)) ?? .null
                let answer = await model(spec, request)
                if let error = answer["error"] { return .some(WorkerFrame(header: ["status": 500, "error": error])) }
                let body = Array(answer.serialized().utf8)
                return .some(WorkerFrame(header: ["status": 200, "content_type": "application/json", "length": .int(Int64(body.count))], body: body))
            }
            group.addTask {
                while !killed.isSet && !Task.isCancelled { try? await Task.sleep(for: .milliseconds(1)) }
                return .some(nil)
            }
            let first = await group.next()!
            group.cancelAll()
            return killed.isSet ? nil : first!
        }
    }
}

/// A flag any task can raise.
final class Flag: Sendable {
    private let value = Atomic<Bool>(false)
    var isSet: Bool { value.load(ordering: .sequentiallyConsistent) }
    func set() { value.store(true, ordering: .sequentiallyConsistent) }
}
