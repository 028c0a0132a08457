import Foundation
import Logging
import Registry
import ServiceLifecycle
import Synchronization
@testable import Serving

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// A Slipway home with an `EndpointManager` and an `EndpointServer` on a free port, run as
/// a ServiceGroup on a manual clock that the fixture moves while it waits; helpers make
/// model versions (a code folder and a `model.tar.gz`) and invoke.
final class ServingFixture: Sendable {
    let root: String
    let registry: Registry
    let records: EndpointRecords
    let manager: EndpointManager
    let clock = ManualClock()
    private let bound = Atomic<Int>(0)
    var port: Int { bound.load(ordering: .relaxed) }
    /// The server's connection counter, once it is made.
    let connections = Mutex<ConnectionCounter?>(nil)
    static let quiet = Logger(label: "slipway.test", factory: { _ in SwiftLogNoOpLogHandler() })

    private init(root existing: String?) throws {
        var template = Array((NSTemporaryDirectory() + "slipway-serving-XXXXXX").utf8CString)
        root = existing ?? String(cString: mkdtemp(&template)!)
        registry = try Registry(home: root)
        records = EndpointRecords(registry: registry)
        // Python workers run in real time: no request or queue timeout while the clock races.
        var limits = WorkerLimits()
        limits.requestTimeout = .seconds(3600)
        limits.queueTimeout = .seconds(3600)
        manager = try EndpointManager(home: root, registry: registry, logger: Self.quiet, clock: clock, interval: .milliseconds(200), limits: limits)
    }

    /// Runs `body` with a manager and a server for a new home (or the one at `root`, to play
    /// a restarted agent), then shuts both down gracefully, checks that no worker process is
    /// left, and removes the home unless `keep`.
    static func with(root: String? = nil, limits: ServerLimits = ServerLimits(), _ body: (ServingFixture) async throws -> Void) async throws {
        _ = try await withHome(root: root, keep: false, limits: limits, body)
    }

    /// `with`, returning the home's path (kept when `keep`); `graceful: false` cancels the
    /// services instead of shutting them down gracefully.
    static func withHome(root: String? = nil, keep: Bool, graceful: Bool = true, limits: ServerLimits = ServerLimits(),
                         _ body: (ServingFixture) async throws -> Void) async throws -> String {
        let fixture = try ServingFixture(root: root)
        let server = EndpointServer(manager: fixture.manager, port: 0, limits: limits, logger: quiet) { port in fixture.bound.store(port, ordering: .relaxed) }
        fixture.connections.withLock { $0 = server.connections }
        let group = ServiceGroup(configuration: .init(services: [fixture.manager, server], logger: quiet))
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            var failure: (any Error)?
            do {
                guard await eventually(within: 120, { fixture.port != 0 }) else { throw WorkerError("the endpoint server did not start in 120 s") }
                try await body(fixture)
            } catch {
                failure = error
            }
            if graceful {
                await group.triggerGracefulShutdown()
                try await tasks.waitForAll()
            } else {
                tasks.cancelAll()
                _ = await tasks.nextResult()  // the group's cancellation error
            }
            if let failure { throw failure }
        }
        let left = processes(mentioning: fixture.root)
        if !left.isEmpty { throw WorkerError("worker processes outlived the manager: \(left)") }
        if !keep { try? FileManager.default.removeItem(atPath: fixture.root) }
        return fixture.root
    }

    /// Pids of processes whose command line mentions `text`.
    static func processes(mentioning text: String) -> [Int32] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap(Int32.init).filter { pid in
            guard pid != getpid(), let data = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else { return false }
            return String(decoding: data.map { $0 == 0 ? 32 : $0 }, as: UTF8.self).contains(text)
        }
    }

    /// Moves the manager's clock on 50 ms and lets 5 ms of real time pass (time runs 10× fast).
    func pump() async {
        clock.advance(by: .milliseconds(50))
        try? await Task.sleep(for: .milliseconds(5))
    }

    /// Pumps until `condition` holds (at most `timeout` real seconds); false if it never did.
    func pump(until condition: () async throws -> Bool, timeout: Double = 180) async rethrows -> Bool {
        let deadline = ContinuousClock.now + .seconds(timeout)
        while ContinuousClock.now < deadline {
            if try await condition() { return true }
            await pump()
        }
        return try await condition()
    }

    static let python: String = {
        for folder in (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin").split(separator: ":") {
            // A pyenv shim is a shell script that needs pyenv, which the sandbox does not hold.
            let candidate = "\(folder)/python3"
            if !folder.hasSuffix("/shims"), FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return "/usr/bin/python3"
    }()
    /// A model version whose `serve.py` answers `{"version": N, "sum": ...}` for a JSON list;
    /// `serve` replaces the script's text.
    func variant(_ model: String, version: Int, serve: String? = nil, workers: Int = 1) throws -> VariantConfig {
        let folder = root + "/versions/\(model)-\(version)"
        try FileManager.default.createDirectory(atPath: folder + "/code", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: folder + "/model", withIntermediateDirectories: true)
        try Data(#"{"version": \#(version)}"#.utf8).write(to: URL(fileURLWithPath: folder + "/model/model.json"))
        let script = serve ?? """
            import json, os, time

            def model_fn(model_dir):
                return json.load(open(os.path.join(model_dir, "model.json")))

            def input_fn(body, content_type):
                if content_type != "application/json":
                    raise ValueError("send application/json")
                return json.loads(body)

            def predict_fn(data, model):
                if isinstance(data, dict) and "sleep" in data:
                    time.sleep(data["sleep"])
                    return {"version": model["version"], "slept": data["sleep"]}
                return {"version": model["version"], "sum": sum(data)}

            def output_fn(prediction, accept):
                return json.dumps(prediction), "application/json"
            """
        try Data(script.utf8).write(to: URL(fileURLWithPath: folder + "/code/serve.py"))
        let tar = Process()
        tar.executableURL = URL(fileURLWithPath: "/bin/tar")
        tar.arguments = ["-czf", folder + "/model.tar.gz", "-C", folder + "/model", "."]
        try tar.run()
        tar.waitUntilExit()
        var variant = VariantConfig(name: "\(model)-v\(version)", model: model, version: version, code: folder + "/code", script: "serve.py",
                                    python: Self.python, modelArchive: folder + "/model.tar.gz", modelDigest: "\(model)-\(version)-\(UUID().uuidString)")
        variant.workers = workers
        variant.memoryBytes = 1 << 30
        return variant
    }

    /// Asks for `config` and waits until the endpoint has applied it or the update ended.
    @discardableResult
    func deploy(_ name: String, _ config: EndpointConfig, wait: Bool = true) async throws -> [String: JSONValue] {
        let generation = try records.beginUpdate(name, config: config, by: "test")
        guard wait else { return [:] }
        return try await settled(name, generation: generation)
    }

    /// Waits until the update to `generation` has an outcome; returns the status record.
    func settled(_ name: String, generation: Int, timeout: Double = 180) async throws -> [String: JSONValue] {
        var settled: [String: JSONValue]?
        _ = try await pump(until: {
            if let status = try records.status(name), status["lastUpdate"]?["generation"]?.intValue == Int64(generation),
                let outcome = status["lastUpdate"]?["outcome"]?.stringValue, outcome != "InProgress" {
                settled = status
            }
            return settled != nil
        }, timeout: timeout)
        guard let settled else {
            throw WorkerError("generation \(generation) of '\(name)' did not settle in \(timeout) s: \(String(describing: try records.status(name)))")
        }
        return settled
    }
    struct Answer {
        var status: Int
        var body: String
        var variant: String?
        var json: JSONValue? { try? JSONValue(parsing: body) }
    }

    func invoke(_ endpoint: String, _ body: String, contentType: String = "application/json", accept: String? = nil) async throws -> Answer {
        var request = URLRequest(url: URL(string: "http://127.0.0.1:\(port)/endpoints/\(endpoint)/invocations")!, timeoutInterval: 60)
        request.httpMethod = "POST"
        request.setValue(contentType, forHTTPHeaderField: "Content-Type")
        if let accept { request.setValue(accept, forHTTPHeaderField: "Accept") }
        request.httpBody = Data(body.utf8)
        let (data, response) = try await URLSession.shared.data(for: request)
        let http = response as? HTTPURLResponse
        return Answer(status: http?.statusCode ?? 0, body: String(decoding: data, as: UTF8.self),
                      variant: http?.value(forHTTPHeaderField: "X-Amzn-Invoked-Production-Variant"))
    }

    /// Sends requests from `clients` concurrent loops until `until` returns; returns every answer.
    func load(_ endpoint: String, clients: Int, until done: @escaping @Sendable () async -> Bool) async -> [Answer] {
        await withTaskGroup(of: [Answer].self) { group in
            for _ in 0..<clients {
                group.addTask {
                    var answers: [Answer] = []
                    while !(await done()) {
                        do { answers.append(try await self.invoke(endpoint, "[1, 2, 3]")) } catch {
                            answers.append(Answer(status: -1, body: "\(error)", variant: nil))
                        }
                    }
                    return answers
                }
            }
            var all: [Answer] = []
            for await answers in group { all += answers }
            return all
        }
    }
}
