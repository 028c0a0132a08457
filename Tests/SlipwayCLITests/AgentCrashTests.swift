import Foundation
import Registry
import Testing

/// The agent killed (`kill -9`) in the middle of a training or a deployment, then started
/// again: the execution finishes by itself, no task that had succeeded runs twice, one
/// version is registered, the endpoint ends InService and its deployment mark is cleared.
/// And SIGTERM: the agent stops, and nothing it started is left running.
@Suite(.serialized) struct AgentCrashTests {
    let shell = Shell()

    func json(_ command: String) async throws -> JSONValue {
        let result = try await shell.run(command)
        return try JSONValue(parsing: result.stdout.isEmpty ? "null" : result.stdout)
    }

    func startAgent(_ log: String) throws -> Slipway.Running {
        try shell.start("exec \"$SLIPWAY\" agent --interval 0.3 --port 0 >>\(log) 2>&1")
    }

    /// Polls `check` every 0.2 s for up to `seconds`; fails with the agent's log.
    func waitFor<T>(_ what: String, seconds: Double = 180, _ check: () async throws -> T?) async throws -> T {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if let value = try? await check() { return value }
            try? await Task.sleep(for: .seconds(0.2))
        }
        throw CocoaError(.fileReadUnknown, userInfo: [NSLocalizedDescriptionKey: "timed out waiting for \(what): \(try await shell.run("tail -30 agent*.log").stdout)"])
    }

    /// The names of the states whose Task succeeded, one entry per success.
    func succeededTasks(_ execution: String) async throws -> [String] {
        var names: [String] = []
        var state = ""
        for event in try await json("\"$SLIPWAY\" executions history \(execution) --json").arrayValue ?? [] {
            if event["type"] == "TaskStateEntered" { state = event["stateEnteredEventDetails"]?["name"]?.stringValue ?? "" }
            if event["type"] == "TaskSucceeded" { names.append(state) }
        }
        return names
    }

    /// Every live process whose command line names this test's home.
    func processesOfHome() -> [String] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap { pid in
            guard Int32(pid) != nil, let line = try? String(contentsOfFile: "/proc/\(pid)/cmdline", encoding: .utf8),
                line.contains(shell.home), (try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8))?.contains(") Z ") != true
            else { return nil }
            return pid + " " + line.replacingOccurrences(of: "\0", with: " ")
        }
    }

    @Test func aKilledAgentsTrainingFinishesAfterARestartWithoutRunningASucceededTaskTwice() async throws {
        try await shell.modelRepository()
        // Training takes a few seconds, so that the agent can be killed during it.
        try await shell.run("cd work && sed -i '1i import time; time.sleep(15)' train.py && git commit -qam 'slow train' && git push -q origin main")
        let first = try startAgent("agent-1.log")
        let execution = try await waitFor("the training to start its train job") { () -> String? in
            guard let names = try await json("\"$SLIPWAY\" executions list --json").arrayValue,
                let name = names.first?["name"]?.stringValue, try await shell.run("ls home/jobs/\(name)-train/output.log").status == 0
            else { return nil }
            return name
        }
        first.kill()
        _ = await first.wait()
        #expect(try await json("\"$SLIPWAY\" executions describe \(execution) --json")["status"] == "RUNNING")

        let second = try startAgent("agent-2.log")
        let described = try await waitFor("the training to finish") { () -> JSONValue? in
            let described = try await json("\"$SLIPWAY\" executions describe \(execution) --json")
            // (Not a ternary: `nil` there would become JSON's null.)
            if described["status"] == nil || described["status"] == "RUNNING" { return nil }
            return described
        }
        #expect(described["status"] == "SUCCEEDED", "\(described)")
        let tasks = try await succeededTasks(execution)
        for state in ["Prepare", "Preprocess", "Train", "Evaluate", "Register"] {
            #expect(tasks.filter { $0 == state }.count == 1, "\(state) succeeded \(tasks.filter { $0 == state }.count) times: \(tasks)")
        }
        #expect(try await json("\"$SLIPWAY\" versions list demand --json").arrayValue?.count == 1)
        #expect(try await shell.run("cat agent-2.log").stdout.contains("claiming execution"))
        kill(second.process.processIdentifier, SIGTERM)
        #expect(await second.wait().status == 0)
    }

    @Test func aKilledAgentsDeploymentEndsInServiceAndClearsItsMarkAfterARestart() async throws {
        try await shell.modelRepository()
        try await shell.run("cd work && sed -i 's/^deploy: {\\(.*\\)}/deploy: {\\1, on_approval: true}/' slipway.yaml && sed -i 's/^def model_fn(model_dir):/def model_fn(model_dir):\\n    import time; time.sleep(3)/' serve.py && git commit -qam 'deploy on approval' && git push -q origin main")
        let first = try startAgent("agent-1.log")
        _ = try await waitFor("version 1") { try await json("\"$SLIPWAY\" versions list demand --json").arrayValue?.first }
        #expect(try await shell.run("\"$SLIPWAY\" approve demand 1 --note ok").status == 0)
        let deployment = try await waitFor("the deployment to start") { () -> String? in
            (try await json("\"$SLIPWAY\" executions list --json").arrayValue ?? []).compactMap { $0["name"]?.stringValue }.first { $0.hasPrefix("deployment-") }
        }
        // Killed with the deployment marked in progress.
        _ = try await waitFor("the deployment mark") { () -> Bool? in
            try await json("\"$SLIPWAY\" registry get deployments demand --json")["item"]?["status"] == "InProgress" ? true : nil
        }
        first.kill()
        _ = await first.wait()

        let second = try startAgent("agent-2.log")
        let described = try await waitFor("the deployment to finish") { () -> JSONValue? in
            let described = try await json("\"$SLIPWAY\" executions describe \(deployment) --json")
            // (Not a ternary: `nil` there would become JSON's null.)
            if described["status"] == nil || described["status"] == "RUNNING" { return nil }
            return described
        }
        #expect(described["status"] == "SUCCEEDED", "\(described)")
        let endpoint = try await json("\"$SLIPWAY\" endpoints describe demand --json")
        #expect(endpoint["status"] == "InService", "\(endpoint)")
        let mark = try await json("\"$SLIPWAY\" registry get deployments demand --json")["item"]
        #expect(mark?["status"] == "Succeeded", "\(String(describing: mark))")
        #expect(try await json("\"$SLIPWAY\" executions list --json").arrayValue?.filter { $0["name"]?.stringValue?.hasPrefix("deployment-") == true }.count == 1)

        // SIGTERM: the agent stops, its workers with it.
        kill(second.process.processIdentifier, SIGTERM)
        let stopped = await second.wait()
        #expect(stopped.status == 0)
        #expect(processesOfHome().isEmpty, "left running: \(processesOfHome())")
    }
}
