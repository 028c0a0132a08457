import Foundation
import LogCapture
import Registry
import Serving
import StatesLanguage
import Testing
@testable import Pipelines

@Suite struct DeploymentContractsTests {
    static let prepared = PreparedDeployment(
        model: "demand", version: 3, endpoint: "prices", commit: "abc123",
        config: EndpointConfig(variants: [VariantConfig(name: "demand-v3", model: "demand", version: 3, code: "/c", script: "serve.py",
                                                        python: "/env/bin/python", modelArchive: "/m.tar.gz", modelDigest: "d")]).json,
        timeout: 60, polling: DeploymentResources.polling(timeout: 60))

    /// The shipped definition's Parameters and Choice read what prepare and status answer:
    /// every task gets the prepared deployment back, and `InService` ends in success.
    @Test func thePreparedDeploymentRoundTripsThroughTheDeploymentDefinition() async throws {
        let prepared = try JSONValue(encoding: Self.prepared)
        let marks = RecordingResource { _ in nil }
        let status = RecordingResource { _ in (try? JSONValue(encoding: UpdateProgress(endpointStatus: "InService", status: .inService, reason: nil))) ?? nil }
        let finish = RecordingResource { input in ["status": input["Outcome"] ?? nil] }
        let resources: [String: any TaskResource] = [
            "slipway:deploy.prepare": RecordingResource { _ in prepared }, "slipway:deploy.mark": marks,
            "slipway:deploy.config": RecordingResource { _ in 7 }, "slipway:deploy.autoscaling": RecordingResource { _ in [:] },
            "slipway:deploy.begin": RecordingResource { _ in [:] }, "slipway:deploy.status": status,
            "slipway:deploy.finish": finish, "slipway:notify": RecordingResource { _ in [:] },
        ]
        let machine = try StateMachine(json: try TrainingResources.definition("deployment"))
        let outcome = await Engine(resources: resources).run(machine, input: ["model": "demand"], name: "contracts")
        #expect(outcome.status == ExecutionStatus.succeeded.rawValue, "\(outcome.error?.description ?? "")")
        #expect(try marks.calls.map { try $0.decode(DeploymentInput.self) }
            == [DeploymentInput(deployment: Self.prepared, execution: "slipway:execution:machine:contracts")])
        #expect(try status.calls.map { try $0.decode(GenerationInput.self) } == [GenerationInput(endpoint: "prices", generation: 7)])
        let finished = try #require(finish.calls.first).decode(FinishInput.self)
        #expect(finished.deployment == Self.prepared)
        #expect(finished.outcome == .succeeded)
        #expect(finished.generation == 7)
    }

    @Test func aMarkWithoutTheEndpointIsRefusedNamingTheField() async throws {
        var template = Array((NSTemporaryDirectory() + "slipway-deploy-contracts-XXXXXX").utf8CString)
        let home = String(cString: mkdtemp(&template)!)
        defer { try? FileManager.default.removeItem(atPath: home) }
        let resources = DeploymentResources(training: TrainingResources(home: home, registry: try Registry(home: home), logger: LogLines().logger))
        guard case .object(var deployment) = try JSONValue(encoding: Self.prepared) else { throw StatesError("Test", "not an object") }
        deployment["endpoint"] = nil
        let input: JSONValue = ["Deployment": .object(deployment), "Execution": "x:y"]
        let error = try await #require(throws: StatesError.self) {
            try await DeployMark(resources: resources).invoke(TaskRequest(resource: "slipway:deploy.mark", input: input))
        }
        #expect(error.error == "States.Runtime")
        #expect(error.cause.contains("'Deployment.endpoint' is missing"), "\(error.cause)")
        #expect(try resources.registry.scan(DeploymentResources.table).items.isEmpty, "nothing was marked")
        let finish: JSONValue = ["Deployment": try JSONValue(encoding: Self.prepared), "Outcome": "Exploded", "Execution": "x:y"]
        let refused = try await #require(throws: StatesError.self) {
            try await DeployFinish(resources: resources).invoke(TaskRequest(resource: "slipway:deploy.finish", input: finish))
        }
        #expect(refused.cause.contains("'Outcome'") && refused.cause.contains("Exploded"), "\(refused.cause)")
    }
}
