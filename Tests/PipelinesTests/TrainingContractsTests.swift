import ArtifactBuilder
import Foundation
import LogCapture
import Registry
import StatesLanguage
import Testing
@testable import Pipelines

/// A task resource that records the inputs it is called with and answers with `answer`.
final class RecordingResource: TaskResource, @unchecked Sendable {
    private let lock = NSLock()
    private var inputs: [JSONValue] = []
    let answer: @Sendable (JSONValue) -> JSONValue

    init(_ answer: @escaping @Sendable (JSONValue) -> JSONValue) { self.answer = answer }

    var calls: [JSONValue] { lock.withLock { inputs } }

    func invoke(_ request: TaskRequest) async throws(StatesError) -> JSONValue {
        lock.withLock { inputs.append(request.input) }
        return answer(request.input)
    }
}

@Suite struct TrainingContractsTests {
    static let stage = PreparedStage(
        kind: .processing, code: "/a/code", script: "preprocess.py", digest: "d1", python: "/env/bin/python",
        arguments: ["--rows", "10"], hyperparameters: [:], outputs: ["train", "test"], cpus: 2, memory: 1 << 30,
        timeout: 600, network: false, retries: 1, cache: true)
    static let prepared = PreparedTraining(
        model: "demand", commit: "abc123", build: "demand-1", dataDigests: ["raw": ["digest": "ff"]],
        stages: ["preprocess": stage,
                 "train": PreparedStage(kind: .training, code: "/b/code", script: "train.py", digest: nil, python: "/env/bin/python",
                                        arguments: [], hyperparameters: ["epochs": "5"], outputs: [], cpus: 1.5, memory: 2 << 30,
                                        timeout: 1800, network: true, retries: 0, cache: false),
                 "evaluate": stage],
        data: ["raw": "/a/code/data/raw.csv"], approval: .auto,
        gates: [Gate(metric: "regression_metrics.mse.value", min: nil, max: 25)])

    @Test func thePreparedInputKeepsTheShapeTheDefinitionsAndTheJobsRead() throws {
        let json = try JSONValue(encoding: Self.prepared)
        #expect(json.objectValue.map { Set($0.keys) } == ["model", "commit", "build", "dataDigests", "stages", "data", "approval", "gates"])
        #expect(json["stages"]?["train"] == [
            "kind": "training", "code": "/b/code", "script": "train.py", "digest": nil, "python": "/env/bin/python",
            "arguments": [], "hyperparameters": ["epochs": "5"], "outputs": [], "cpus": 1.5, "memory": .int(2 << 30),
            "timeout": 1800, "network": true, "retries": 0, "cache": false,
        ])
        #expect(json["stages"]?["preprocess"]?["cpus"] == .double(2))
        #expect(json["gates"] == [["metric": "regression_metrics.mse.value", "min": nil, "max": 25.0]])
        #expect(json["approval"] == "auto")
        #expect(json["data"] == ["raw": "/a/code/data/raw.csv"])
    }

    /// The shipped definition's Parameters carry what Prepare answered to every job, the
    /// gates and the register task, where it decodes back to the same value.
    @Test func thePreparedInputRoundTripsThroughTheTrainingDefinition() async throws {
        let prepared = try JSONValue(encoding: Self.prepared)
        let job = RecordingResource { input in
            let stage = input["Stage"]?.stringValue ?? "?"
            return ["stage": .string(stage), "outputs": ["train": "/out/train", "test": "/out/test", "evaluation": "/out/evaluation"],
                    "modelFolder": "/out/model", "modelArchive": "/out/model/model.tar.gz"]
        }
        let verdict = GateVerdict(passed: true, reasons: [], metrics: ["regression_metrics": ["mse": ["value": 3.0]]])
        let register = RecordingResource { input in
            (try? JSONValue(encoding: RegisteredVersion(model: "demand", version: 1, status: .approved, reasons: []))) ?? nil
        }
        let gates = RecordingResource { _ in (try? JSONValue(encoding: verdict)) ?? nil }
        let resources: [String: any TaskResource] = [
            "slipway:training.prepare": RecordingResource { _ in prepared }, "slipway:training.job": job,
            "slipway:training.gates": gates, "slipway:training.register": register, "slipway:notify": RecordingResource { _ in [:] },
        ]
        let machine = try StateMachine(json: try TrainingResources.definition("training"))
        let outcome = await Engine(resources: resources).run(machine, input: ["model": "demand"], name: "contracts")
        #expect(outcome.status == ExecutionStatus.succeeded.rawValue, "\(outcome.error?.description ?? "")")
        #expect(try outcome.output?.decode(RegisteredVersion.self) == RegisteredVersion(model: "demand", version: 1, status: .approved, reasons: []))

        let jobs = try job.calls.map { try $0.decode(JobInput.self) }
        #expect(jobs.map(\.stage) == ["preprocess", "train", "evaluate"])
        #expect(jobs.allSatisfy { $0.prepared == Self.prepared })
        #expect(jobs.first?.inputs == ["raw": "/a/code/data/raw.csv"])
        #expect(jobs.last?.inputs == ["model": "/out/model", "test": "/out/test"])
        #expect(jobs.first?.execution == "slipway:execution:machine:contracts")
        #expect(try gates.calls.map { try $0.decode(GatesInput.self) } == [GatesInput(prepared: Self.prepared, evaluation: "/out/evaluation")])
        let registered = try #require(register.calls.first).decode(RegisterInput.self)
        #expect(registered.prepared == Self.prepared)
        #expect(registered.verdict == verdict)
        #expect(registered.jobs["train"]?["modelArchive"] == "/out/model/model.tar.gz")
    }

    func resources() throws -> (TrainingResources, String) {
        var template = Array((NSTemporaryDirectory() + "slipway-contracts-XXXXXX").utf8CString)
        let home = String(cString: mkdtemp(&template)!)
        return (TrainingResources(home: home, registry: try Registry(home: home), logger: LogLines().logger), home)
    }

    func jobInput(_ change: (inout [String: JSONValue]) -> Void) throws -> JSONValue {
        guard case .object(var prepared) = try JSONValue(encoding: Self.prepared), case .object(var stages)? = prepared["stages"],
            case .object(var train)? = stages["train"]
        else { throw StatesError("Test", "the prepared input is not an object") }
        change(&train)
        stages["train"] = .object(train)
        prepared["stages"] = .object(stages)
        return ["Stage": "train", "Prepared": .object(prepared), "Inputs": [:], "Attempt": 0, "Execution": "x:y"]
    }

    @Test func aJobWithAMalformedPreparedStageIsRefusedNamingTheField() async throws {
        let (resources, home) = try resources()
        defer { try? FileManager.default.removeItem(atPath: home) }
        let job = Job(resources: resources)
        let wrongKind = try jobInput { $0["cpus"] = "two" }
        let error = try await #require(throws: StatesError.self) { try await job.invoke(TaskRequest(resource: "slipway:training.job", input: wrongKind)) }
        #expect(error.error == "States.Runtime")
        #expect(error.cause.contains("'Prepared.stages.train.cpus' should be a number, not a string"), "\(error.cause)")
        let missing = try jobInput { $0["memory"] = nil }
        let second = try await #require(throws: StatesError.self) { try await job.invoke(TaskRequest(resource: "slipway:training.job", input: missing)) }
        #expect(second.cause.contains("'Prepared.stages.train.memory' is missing"), "\(second.cause)")
        #expect(second.cause.contains("slipway:training.job"))
    }

    @Test func registerRefusesAVerdictWithoutPassedInsteadOfRejecting() async throws {
        let (resources, home) = try resources()
        defer { try? FileManager.default.removeItem(atPath: home) }
        let input: JSONValue = ["Prepared": try JSONValue(encoding: Self.prepared), "Verdict": ["reasons": [], "metrics": [:]], "Jobs": [:]]
        let error = try await #require(throws: StatesError.self) {
            try await Register(resources: resources).invoke(TaskRequest(resource: "slipway:training.register", input: input))
        }
        #expect(error.cause.contains("'Verdict.passed' is missing"), "\(error.cause)")
        #expect(try ModelVersions(registry: resources.registry).list("demand").isEmpty)
    }
}
