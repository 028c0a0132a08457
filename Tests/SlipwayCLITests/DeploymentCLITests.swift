import Foundation
import Registry
import Synchronization
import Testing

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// The deployment pipeline end to end, with a real agent serving over HTTP: a trained
/// version approved and deployed; a second version deployed under load with no failed
/// request; a version whose model_fn raises, deployed on approval and rolled back while
/// the old one keeps serving; a deployment that never becomes healthy times out, refuses
/// a second deployment meanwhile, and notifies a webhook; `rollback`; `endpoints delete`.
@Suite(.serialized) struct DeploymentCLITests {
    let shell = Shell()

    func json(_ command: String) async throws -> JSONValue {
        let result = try await shell.run(command)
        return try JSONValue(parsing: result.stdout.isEmpty ? "null" : result.stdout)
    }

    /// Waits until the model has `count` versions; returns the newest.
    func version(_ count: Int, of model: String = "churn") async throws -> JSONValue {
        let deadline = Date().addingTimeInterval(180)
        while Date() < deadline {
            if let versions = try await json("\"$SLIPWAY\" versions list \(model) --json").arrayValue, versions.count >= count { return versions[count - 1] }
            try? await Task.sleep(for: .seconds(0.5))
        }
        throw CocoaError(.fileReadUnknown, userInfo: [NSLocalizedDescriptionKey: "no version \(count) of \(model): \(try await shell.run("cat agent.log").stdout)"])
    }

    func push(_ change: String, _ message: String) async throws {
        let result = try await shell.run("cd work && \(change) && git commit -qam '\(message)' && git push -q origin main")
        #expect(result.status == 0, "\(result.stderr)")
    }

    func servingPort() async throws -> Int {
        for _ in 0..<100 {
            if let marker = try? JSONValue(parsing: String(contentsOfFile: shell.home + "/serving.json", encoding: .utf8)), let port = marker["port"]?.intValue {
                return Int(port)
            }
            try? await Task.sleep(for: .seconds(0.1))
        }
        throw CocoaError(.fileReadNoSuchFile, userInfo: [NSLocalizedDescriptionKey: "the agent did not start serving"])
    }

    static func invoke(port: Int, _ body: String) async -> (status: Int, body: String, variant: String?) {
        var request = URLRequest(url: URL(string: "http://127.0.0.1:\(port)/endpoints/churn/invocations")!, timeoutInterval: 30)
        request.httpMethod = "POST"
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        request.httpBody = Data(body.utf8)
        do {
            let (data, response) = try await URLSession.shared.data(for: request)
            let http = response as? HTTPURLResponse
            return (http?.statusCode ?? 0, String(decoding: data, as: UTF8.self), http?.value(forHTTPHeaderField: "X-Amzn-Invoked-Production-Variant"))
        } catch {
            return (-1, "\(error)", nil)
        }
    }

    @Test func approvedVersionsDeployUpdateUnderLoadRollBackAndTimeOut() async throws {
        let (receiver, hookPort) = try await shell.startWebhookReceiver()
        defer { receiver.kill() }
        try await shell.fixtureRepository("churn", name: "churn")
        try Data(#"{"notify": [{"webhook": "http://127.0.0.1:\#(hookPort)/agent"}]}"#.utf8).write(to: URL(fileURLWithPath: shell.home + "/agent.json"))
        let agent = try shell.start("exec \"$SLIPWAY\" agent --port 0 --interval 0.5 > agent.log 2>&1")
        defer { agent.kill() }
        let port = try await servingPort()

        // Version 1: pushed, built, trained by the agent; approved by hand; deployed.
        #expect(try await shell.run("cd work && git push -q origin main").status == 0)
        #expect(try await version(1)["status"] == "PendingManualApproval")
        #expect(try await shell.run("\"$SLIPWAY\" deploy churn --wait --json").status == 1, "only Approved versions deploy")
        #expect(try await shell.run("\"$SLIPWAY\" approve churn 1").status == 0)
        let first = try await json("\"$SLIPWAY\" deploy churn --wait --json")
        #expect(first["status"] == "SUCCEEDED", "\(first)")
        #expect(first["endpoint"]?["status"] == "InService")
        #expect(first["endpoint"]?["model"] == "churn" && first["endpoint"]?["version"] == 1)
        let answer = try await shell.run("\"$SLIPWAY\" endpoints invoke churn --body '[[2, 95.0, 9, 1], [70, 25.0, 0, 0]]'")
        let probabilities = try JSONValue(parsing: answer.stdout).arrayValue?.compactMap(\.doubleValue) ?? []
        #expect(probabilities.count == 2 && probabilities[0] > 0.8 && probabilities[1] < 0.2, "\(answer.stdout) \(answer.stderr)")
        let direct = await Self.invoke(port: port, "[[12, 70.5, 3, 1]]")
        #expect(direct.status == 200 && direct.variant == "churn-v1")

        // Version 2 deploys while requests keep coming: none fails.
        try await push("sed -i 's/learning-rate: 0.5/learning-rate: 0.4/' slipway.yaml", "slower learning")
        _ = try await version(2)
        #expect(try await shell.run("\"$SLIPWAY\" approve churn 2").status == 0)
        let done = Flag()
        let load = Task {
            await withTaskGroup(of: [Int].self) { group in
                for _ in 0..<3 {
                    group.addTask {
                        var statuses: [Int] = []
                        while !done.isSet { statuses.append(await Self.invoke(port: port, "[[12, 70.5, 3, 1]]").status) }
                        return statuses
                    }
                }
                var all: [Int] = []
                for await statuses in group { all += statuses }
                return all
            }
        }
        try await Task.sleep(for: .seconds(1))
        let second = try await json("\"$SLIPWAY\" deploy churn --version 2 --wait --json")
        try await Task.sleep(for: .seconds(1))
        done.set()
        let statuses = await load.value
        #expect(second["status"] == "SUCCEEDED", "\(second)")
        #expect(second["endpoint"]?["version"] == 2)
        #expect(statuses.count >= 5 && statuses.allSatisfy { $0 == 200 }, "\(statuses.filter { $0 != 200 }.count) of \(statuses.count) failed")

        // Version 3's model_fn raises; deploy.on_approval deploys it, and it is rolled back.
        try await push("sed -i 's/^deploy: {endpoint: churn}/deploy: {endpoint: churn, on_approval: true, timeout: 20s}/' slipway.yaml"
                 + " && printf '\\ndef model_fn(model_dir):\\n    raise RuntimeError(\"corrupt weights\")\\n' >> inference.py", "broken model")
        _ = try await version(3)
        #expect(try await shell.run("\"$SLIPWAY\" approve churn 3").status == 0)
        var rolledBack: JSONValue = .null
        for _ in 0..<120 {
            rolledBack = try await json("\"$SLIPWAY\" endpoints describe churn --json")
            if rolledBack["lastUpdate"]?["outcome"] == "RolledBack" { break }
            try await Task.sleep(for: .milliseconds(500))
        }
        #expect(rolledBack["lastUpdate"]?["outcome"] == "RolledBack", "\(rolledBack)")
        #expect(rolledBack["lastUpdate"]?["reason"]?.stringValue?.contains("RuntimeError: corrupt weights") == true)
        #expect(rolledBack["status"] == "InService" && rolledBack["version"] == 2)
        #expect(await Self.invoke(port: port, "[[12, 70.5, 3, 1]]").variant == "churn-v2")

        // Version 3's deployment ends once its next status check sees the rollback.
        for _ in 0..<240 {
            if try await json("\"$SLIPWAY\" registry get deployments churn --json")["item"]?["status"] != "InProgress" { break }
            try await Task.sleep(for: .milliseconds(250))
        }

        // Version 4 never loads: the deployment times out, and a second one is refused meanwhile.
        try await push("sed -i 's/raise RuntimeError(\"corrupt weights\")/import time; time.sleep(3600)/' inference.py", "slow model")
        _ = try await version(4)
        #expect(try await shell.run("\"$SLIPWAY\" versions show churn 4 --json && \"$SLIPWAY\" approve churn 4").status == 0)
        var running: JSONValue = .null
        // (The agent runs two executions at once; v3's deployment may hold a slot while it
        // polls, so v4's can wait for it.)
        for _ in 0..<240 {
            running = try await json("\"$SLIPWAY\" registry get deployments churn --json")
            if running["item"]?["status"] == "InProgress" && running["item"]?["version"] == 4 { break }
            try await Task.sleep(for: .milliseconds(250))
        }
        let refused = try await json("\"$SLIPWAY\" deploy churn --version 2 --wait --json")
        #expect(refused["error"] == "Deployment.InProgress", "\(refused)")
        let runningName = running["item"]?["execution"]?.stringValue?.split(separator: ":").last.map(String.init) ?? "?"
        #expect(refused["cause"]?.stringValue?.contains(runningName) == true, "\(refused) \(running)")
        var timedOut: JSONValue = .null
        for _ in 0..<360 {
            timedOut = try await json("\"$SLIPWAY\" registry get deployments churn --json")
            if timedOut["item"]?["status"] == "TimedOut" { break }
            try await Task.sleep(for: .milliseconds(250))
        }
        #expect(timedOut["item"]?["status"] == "TimedOut", "\(timedOut)")
        let describe = try await json("\"$SLIPWAY\" executions describe \(runningName) --json")
        #expect(describe["status"] == "FAILED" && describe["error"] == "Deployment.TimedOut", "\(describe)")
        #expect(await Self.invoke(port: port, "[[12, 70.5, 3, 1]]").variant == "churn-v2", "the endpoint kept serving version 2")
        let events = shell.received().compactMap { $0["event"]?.stringValue }
        for event in ["BuildSucceeded", "TrainingSucceeded", "VersionPendingApproval", "DeploymentSucceeded", "EndpointRolledBack", "DeploymentTimedOut"] {
            #expect(events.contains(event), "webhook got \(events)")
        }

        // Rollback redeploys what served before version 2: version 1, without retraining.
        let back = try await json("\"$SLIPWAY\" rollback churn --wait --json")
        #expect(back["status"] == "SUCCEEDED" && back["endpoint"]?["version"] == 1, "\(back)")
        #expect(await Self.invoke(port: port, "[[12, 70.5, 3, 1]]").variant == "churn-v1")

        #expect(try await shell.run("\"$SLIPWAY\" endpoints delete churn").status == 0)
        try await Task.sleep(for: .seconds(1.5))
        #expect(await Self.invoke(port: port, "[[1, 1, 1, 1]]").status == 404)
        #expect(try await shell.run("\"$SLIPWAY\" endpoints list --json").stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "[]")
    }
}


/// A flag one task sets and others read.
final class Flag: Sendable {
    private let value = Atomic<Bool>(false)
    var isSet: Bool { value.load(ordering: .relaxed) }
    func set() { value.store(true, ordering: .relaxed) }
}
