import Agent
import ArtifactBuilder
import Foundation
import GitWatcher
import Logging
import LogCapture
import Pipelines
import Registry
import Serving
import Testing

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// The agent's services in this process, no `slipway` spawned: a push is built, trained,
/// approved by a person, deployed by the approval service (`deploy.on_approval`, the event
/// consumed in the transaction that records the deployment), and served; the same commit
/// trained again answers with version 1; an execution stored for the agent runs, and runs
/// again when redriven; cancelling the agent leaves no worker or job running.
@Suite(.serialized) struct AgentEndToEndTests {
    @Test func pushBuildTrainApproveDeployInvokeInOneProcess() async throws {
        let fixture = try AgentFixture()
        try fixture.scaffold(model: "demand", deploy: "{endpoint: demand, workers: 1, strategy: all-at-once, on_approval: true}")
        try fixture.push()

        let registry = try Registry(home: fixture.home)
        let configuration = fixture.configuration
        let lines = LogLines()
        let agent = try await Agent(configuration: configuration, registry: registry, logger: lines.logger)

        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await agent.run() }
            let versions = ModelVersions(registry: registry)
            let pending = try await eventually("version 1 of demand, pending approval", lines) { () -> [String: JSONValue]? in
                guard let version = try versions.get("demand", 1), version["status"] == "PendingManualApproval" else { return nil }
                return version
            }
            #expect(pending["metrics"]?["regression_metrics"]?["mse"]?["value"]?.doubleValue ?? 99 < 25)
            _ = try versions.decide("demand", 1, .approved, note: "looks good", by: "ada")

            let endpoints = EndpointRecords(registry: registry)
            let serving = try await eventually("endpoint demand InService with version 1", lines) { () -> JSONValue? in
                guard let endpoint = try endpoints.describe("demand"), endpoint["status"] == "InService", endpoint["version"] == 1 else { return nil }
                return endpoint
            }
            #expect(serving["model"] == "demand")
            let port = try #require(ServingMarker.read(home: fixture.home)?.port)
            let (status, body) = try await invoke(port: port, endpoint: "demand", #"{"price": 4.5, "promo": 0, "week": 12}"#)
            #expect(status == 200, "\(body)")
            // The scaffold's data: units = 120 - 6 price + 15 promo + 10 sin(2π week / 52) + noise.
            let units = try JSONValue(parsing: body)["units"]?.arrayValue?.first?.doubleValue ?? 0
            #expect((95...112).contains(units), "\(body)")

            // One approval, one deployment: the event was consumed in the transaction that recorded it.
            let started = try registry.query(ApprovalService.table, partition: "demand").items
            #expect(started.count == 1)
            #expect(try registry.scan(ModelVersions.events).items.isEmpty)
            #expect(lines.contains("deployment started"))

            // Training the same commit again: every step comes from the cache, and the
            // answer is version 1, not a second version.
            let (again, lock) = try agent.executions.executions.createTraining(model: "demand")
            agent.executions.submit(again, lock: lock)
            let outcome = try await eventually("the second training to end", lines) { () -> String? in
                let status = try agent.executions.executions.store.status(of: again).status
                return status == "RUNNING" ? nil : status
            }
            #expect(outcome == "SUCCEEDED")
            #expect(try versions.list("demand").count == 1)

            // An execution stored for the agent (as `slipway states run` or a redrive leave
            // one) is claimed and run; redriven, it is claimed and run again.
            let store = agent.executions.executions.store
            let failing = #"{"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "Test.Failed", "Cause": "on purpose"}}}"#
            let stored = try store.create(name: "failing", definition: failing, input: [:], stateMachineName: "failing")
            _ = try await eventually("the stored execution to fail", lines) { () -> Bool? in
                try store.status(of: stored).status == "FAILED" ? true : nil
            }
            try store.redrive(stored)
            let redriven = try await eventually("the redriven execution to fail again", lines) { () -> [String]? in
                let (status, history) = try store.status(of: stored)
                return status == "FAILED" && history.contains { $0.type == "ExecutionRedriven" } ? history.map(\.type) : nil
            }
            #expect(redriven.filter { $0 == "ExecutionFailed" }.count == 2, "\(redriven)")
            group.cancelAll()
        }
        // Nothing the agent started is still running, child or not.
        let left = AgentFixture.processes(naming: fixture.root)
        #expect(left.isEmpty, "left running: \(left)")
    }

    @Test func aBuildWhoseTrainingNeverStartedIsTrainedWhenTheAgentStarts() async throws {
        let fixture = try AgentFixture()
        try fixture.scaffold(model: "demand", deploy: "{endpoint: demand}")
        try fixture.push()
        let registry = try Registry(home: fixture.home)
        let configuration = fixture.configuration
        let lines = LogLines()
        do {
            // An agent that recorded the build and died before it started the training.
            let first = try await Agent(configuration: configuration, registry: registry, logger: lines.logger)
            let built = try await first.builds.runOnce()
            #expect(built.first?.record.attributes["status"] == "succeeded")
        }
        let agent = try await Agent(configuration: configuration, registry: registry, logger: lines.logger)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await agent.run() }
            let version = try await eventually("version 1 of demand", lines) { try ModelVersions(registry: registry).get("demand", 1) }
            #expect(version["build"] == "demand-1")
            #expect(lines.contains("the latest build has no training; starting it"))
            group.cancelAll()
        }
    }

    func invoke(port: Int, endpoint: String, _ body: String) async throws -> (Int, String) {
        var request = URLRequest(url: URL(string: "http://127.0.0.1:\(port)/endpoints/\(endpoint)/invocations")!, timeoutInterval: 30)
        request.httpMethod = "POST"
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        request.httpBody = Data(body.utf8)
        let (data, response) = try await URLSession.shared.data(for: request)
        return ((response as? HTTPURLResponse)?.statusCode ?? 0, String(decoding: data, as: UTF8.self))
    }
}

/// Waits (up to `limit`) until `check` gives a value; fails with the agent's log.
func eventually<T>(_ what: String, _ lines: LogLines, limit: Duration = .seconds(240), _ check: () throws -> T?) async throws -> T {
    let clock = ContinuousClock()
    let deadline = clock.now.advanced(by: limit)
    while clock.now < deadline {
        if let value = try check() { return value }
        try await clock.sleep(for: .milliseconds(200))
    }
    Issue.record("timed out waiting for \(what); the agent said:\n\(lines.all.suffix(40).joined(separator: "\n"))")
    throw CancellationError()
}
