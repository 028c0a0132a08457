import Foundation
import LogCapture
import Registry
import StatesLanguage
import Synchronization
import Testing
@testable import Pipelines

/// The shipped deployment definition's routing, with its tasks replaced by resources that
/// answer as an endpoint would: what the execution ends with when a step fails.
@Suite struct DeploymentDefinitionTests {
    /// Answers `answer(input)` and remembers every input it was given.
    final class Recording: TaskResource {
        let inputs = Mutex<[JSONValue]>([])
        let answer: @Sendable (JSONValue) throws(StatesError) -> JSONValue
        init(_ answer: @escaping @Sendable (JSONValue) throws(StatesError) -> JSONValue = { _ in .null }) { self.answer = answer }
        func invoke(_ request: TaskRequest) async throws(StatesError) -> JSONValue {
            inputs.withLock { $0.append(request.input) }
            return try answer(request.input)
        }
    }

    /// Runs the deployment pipeline of `demand` with an endpoint that is InService at its
    /// first check and the given `finish`; returns the outcome and what was notified.
    func deploy(finish: Recording) async throws -> (ExecutionOutcome, [JSONValue]) {
        let home = NSTemporaryDirectory() + "slipway-deployment-definition-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: home) }
        let executions = PipelineExecutions(home: home, registry: try Registry(home: home), logger: LogLines().logger)
        let notify = Recording()
        let resources: [String: any TaskResource] = [
            "slipway:deploy.prepare": Recording { _ in
                ["model": "demand", "version": 3, "endpoint": "demand", "polling": ["firstWait": 1, "maxWait": 1, "maxChecks": 3]]
            },
            "slipway:deploy.mark": Recording(), "slipway:deploy.config": Recording { _ in 7 }, "slipway:deploy.autoscaling": Recording(),
            "slipway:deploy.begin": Recording(), "slipway:deploy.status": Recording { _ in ["status": "InService"] },
            "slipway:deploy.finish": finish, "slipway:notify": notify,
        ]
        let (stored, lock) = try executions.createDeployment(model: "demand")
        let outcome = try await executions.run(stored, lock: lock, resources: resources)
        return (outcome, notify.inputs.withLock { $0 })
    }

    @Test func aSuccessThatCannotBeRecordedFailsTheExecutionAndStillNotifies() async throws {
        let finish = Recording { _ throws(StatesError) in throw StatesError("Registry.Full", "no space left on device writing deployments/demand") }
        let (outcome, notified) = try await deploy(finish: finish)
        #expect(outcome.status == "FAILED")
        #expect(outcome.error == StatesError("Deployment.NotRecorded", "no space left on device writing deployments/demand"))
        // The endpoint serves the new version, so that is what is told, with why it was not recorded.
        #expect(notified.map { $0["event"] } == ["DeploymentSucceeded"])
        #expect(notified.first?["recordError"]?["Error"] == "Registry.Full")
        #expect(finish.inputs.withLock { $0.map { $0["Outcome"] } } == ["Succeeded"])
    }

    @Test func aRecordedSuccessSucceedsWithTheRecord() async throws {
        let (outcome, notified) = try await deploy(finish: Recording { _ in ["status": "Succeeded", "version": 3] })
        #expect(outcome.status == "SUCCEEDED")
        #expect(outcome.output == ["status": "Succeeded", "version": 3])
        #expect(notified.map { $0["event"] } == ["DeploymentSucceeded"])
        #expect(notified.first?.objectValue?.keys.contains("recordError") == false)
    }
}
