import Foundation
import Registry
import Synchronization
@testable import Serving

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// A Slipway home with a running `EndpointManager` and HTTP server on a free port, and
/// helpers to make model versions (a code folder and a `model.tar.gz`) and to invoke.
final class ServingFixture: @unchecked Sendable {
    let root: String
    let registry: Registry
    let records: EndpointRecords
    let manager: EndpointManager
    private var tasks: [Task<Void, Never>] = []
    private final class Bound: Sendable { let port = Atomic<Int>(0) }
    private let bound = Bound()
    var port: Int { bound.port.load(ordering: .relaxed) }

    /// A new home, or the one at `root` (to play a restarted agent).
    init(root existing: String? = nil) async throws {
        var template = Array((NSTemporaryDirectory() + "slipway-serving-XXXXXX").utf8CString)
        root = existing ?? String(cString: mkdtemp(&template)!)
        registry = try Registry(home: root)
        records = EndpointRecords(registry: registry)
        manager = try EndpointManager(home: root, registry: registry)
        let manager = self.manager
        let bound = self.bound
        tasks.append(Task { await manager.run(interval: 0.2) })
        tasks.append(Task { try? await EndpointServer(manager: manager, port: 0).run { bound.port.store($0, ordering: .relaxed) } })
        for _ in 0..<200 where port == 0 { try await Task.sleep(for: .milliseconds(50)) }
    }

    /// Stops serving, keeping the home.
    func stop() async {
        tasks.forEach { $0.cancel() }
        for task in tasks { await task.value }
        await manager.stopAll()
    }

    func shutdown() async {
        await stop()
        try? FileManager.default.removeItem(atPath: root)
    }

    static let python: String = {
        for folder in (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin").split(separator: ":") {
            let candidate = "\(folder)/python3"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
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
    func settled(_ name: String, generation: Int, timeout: Double = 60) async throws -> [String: JSONValue] {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if let status = try records.status(name), status["lastUpdate"]?["generation"]?.intValue == Int64(generation),
                let outcome = status["lastUpdate"]?["outcome"]?.stringValue, outcome != "InProgress" {
                return status
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw WorkerError("generation \(generation) of '\(name)' did not settle in \(timeout) s: \(String(describing: try records.status(name)))")
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
