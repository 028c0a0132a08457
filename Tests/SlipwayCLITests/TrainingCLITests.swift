import Foundation
import Registry
import Testing

/// Push, build, train, evaluate, gates, a version pending approval, approve: the whole
/// training flow through the CLI, with real jobs in the sandbox.
@Suite(.serialized) struct TrainingCLITests {
    let shell = Shell()

    func train() async throws -> JSONValue {
        let result = try await shell.run("\"$SLIPWAY\" train demand --wait --json")
        #expect(result.status == 0 || result.status == 1, "\(result.stderr)")
        guard let outcome = try? JSONValue(parsing: result.stdout) else {
            throw CocoaError(.fileReadCorruptFile, userInfo: [NSLocalizedDescriptionKey: "train printed no JSON (status \(result.status)): \(result.stderr)"])
        }
        return outcome
    }

    /// What each job step said about the cache, in order.
    func cacheNotes(_ outcome: JSONValue) -> [String] {
        (outcome["history"]?.arrayValue ?? []).compactMap { event in
            guard event["type"] == "TaskSucceeded", event["taskSucceededEventDetails"]?["resource"] == "slipway:training.job",
                let output = event["taskSucceededEventDetails"]?["output"]?.stringValue
            else { return nil }
            return (try? JSONValue(parsing: output))?["cache"]?.stringValue
        }
    }

    @Test func aPushedModelTrainsToAVersionAwaitingApprovalAndCachesUnchangedSteps() async throws {
        try await shell.modelRepository()
        // Training only by hand here, so that each run below is the one the test starts.
        let push = "sed -i 's/^build:$/build:\\n  train: false/' slipway.yaml && git commit -qam 'train by hand' && git push -q origin main"
        #expect(try await shell.run("cd work && \(push) && \"$SLIPWAY\" agent --once").status == 0)

        let first = try await train()
        #expect(first["status"] == "SUCCEEDED", "\(first["error"] ?? "") \(first["cause"] ?? "")")
        #expect(first["output"]?["version"] == 1)
        #expect(first["output"]?["status"] == "PendingManualApproval")
        #expect(cacheNotes(first) == ["miss", "miss", "miss"])
        let versions = try JSONValue(parsing: try await shell.run("\"$SLIPWAY\" versions list demand --json").stdout)
        let version = try #require(versions.arrayValue?.first)
        let mse = try #require(version["metrics"]?["regression_metrics"]?["mse"]?["value"]?.doubleValue)
        #expect(mse > 1 && mse < 25)
        #expect(version["commit"]?.stringValue?.count == 40)
        #expect(version["execution"]?.stringValue?.contains("training") == true)
        #expect(version["artifacts"]?["train"]?.stringValue?.count == 64)
        #expect(version["data"]?["sales"]?["digest"]?.stringValue?.count == 64)
        #expect(version["hyperparameters"] == ["ridge": "0.01"])

        // Nothing changed: every job is a cache hit that names the execution it reuses.
        let second = try await train()
        let notes = cacheNotes(second)
        #expect(notes.count == 3 && notes.allSatisfy { $0.hasPrefix("hit: ") && $0.contains("from execution") }, "\(notes)")
        // The same model archive: the answer is version 1, not a second version.
        #expect(second["output"]?["version"] == 1)
        #expect(try await JSONValue(parsing: shell.run("\"$SLIPWAY\" versions list demand --json").stdout).arrayValue?.count == 1)

        // Only train.py changed: preprocess is reused, train and evaluate run again.
        #expect(try await shell.run("cd work && echo '# tuned' >> train.py && git commit -qam tune && git push -q origin main && \"$SLIPWAY\" agent --once").status == 0)
        let third = try await train()
        let changed = cacheNotes(third)
        #expect(changed.count == 3 && changed[0].hasPrefix("hit: preprocess") && changed[1] == "miss" && changed[2] == "miss", "\(changed)")

        let execution = try #require(try await JSONValue(parsing: shell.run("\"$SLIPWAY\" versions show demand 2 --json").stdout)["execution"]?.stringValue)
        let name = String(execution.split(separator: ":").last ?? "")
        let logs = try await shell.run("\"$SLIPWAY\" logs \(name) --state Preprocess")
        #expect(logs.stdout.contains("train rows: 390, test rows: 130"), "\(logs.stdout)")
        #expect(logs.stdout.contains("(hit: preprocess"))
        #expect(!logs.stdout.contains("coefficients"))
        #expect(try await shell.run("\"$SLIPWAY\" logs \(name) --state Train").stdout.contains("coefficients:"))

        // A stage that asks for no caching always runs.
        #expect(try await shell.run("cd work && sed -i 's/    script: preprocess.py/    script: preprocess.py\\n    cache: false/' slipway.yaml && git commit -qam nocache && git push -q origin main && \"$SLIPWAY\" agent --once").status == 0)
        #expect(cacheNotes(try await train()).first == "miss")

        // An older built commit trains too: its preprocess, train and evaluate are all cache hits.
        let firstCommit = try #require(version["commit"]?.stringValue)
        let older = try await shell.run("\"$SLIPWAY\" train demand --commit \(firstCommit.prefix(10)) --wait --json")
        let olderOutcome = try JSONValue(parsing: older.stdout)
        #expect(olderOutcome["status"] == "SUCCEEDED")
        #expect(cacheNotes(olderOutcome).allSatisfy { $0.hasPrefix("hit: ") })
        let unbuilt = try JSONValue(parsing: try await shell.run("\"$SLIPWAY\" train demand --commit 0000000 --wait --json").stdout)
        #expect(unbuilt["error"] == "Model.NotBuilt")

        #expect(try await shell.run("\"$SLIPWAY\" approve demand 1 --note 'looks right'").status == 0)
        #expect(try await JSONValue(parsing: shell.run("\"$SLIPWAY\" versions show demand 1 --json").stdout)["status"] == "Approved")
    }

    @Test func gatesThatFailRegisterARejectedVersionWithTheReason() async throws {
        try await shell.modelRepository()
        let setup = try await shell.run("""
            cd work && sed -i 's/{metric: regression_metrics.mse.value, max: 25}/{metric: regression_metrics.mse.value, max: 0.5}/' slipway.yaml
            git commit -qam 'a gate no model can pass' && git push -q origin main && "$SLIPWAY" agent --once
            """)
        #expect(setup.status == 0, "\(setup.stderr)")
        let outcome = try await train()
        #expect(outcome["status"] == "SUCCEEDED")
        #expect(outcome["output"]?["status"] == "Rejected")
        let version = try JSONValue(parsing: try await shell.run("\"$SLIPWAY\" versions show demand 1 --json").stdout)
        #expect(version["statusReason"]?.stringValue?.contains("regression_metrics.mse.value") == true)
        #expect(version["statusReason"]?.stringValue?.contains("above the maximum 0.5") == true)
    }

    @Test func aFailingScriptFailsTheExecutionWithItsLastLines() async throws {
        try await shell.modelRepository()
        let setup = try await shell.run("""
            cd work && printf 'import sys\\nprint("reading the training set")\\nsys.exit(7)\\n' > train.py
            sed -i 's/retry: {attempts: 1, interval: 5s}/retry: {attempts: 0}/' slipway.yaml
            git commit -qam 'broken training' && git push -q origin main && "$SLIPWAY" agent --once
            """)
        #expect(setup.status == 0, "\(setup.stderr)")
        let outcome = try await train()
        #expect(outcome["status"] == "FAILED")
        #expect(outcome["error"] == "Job.Failed")
        #expect(outcome["cause"]?.stringValue?.contains("exited with status 7") == true)
        #expect(outcome["cause"]?.stringValue?.contains("reading the training set") == true)
    }

    @Test func aSuccessfulBuildStartsTrainingUnlessTheConfigSaysNot() async throws {
        try await shell.modelRepository()
        let agent = try await shell.run("cd work && git push -q origin main && \"$SLIPWAY\" agent --once")
        #expect(agent.status == 0, "\(agent.stderr)")
        #expect(agent.stdout.contains("execution ended execution.id=training-demand-"), "\(agent.stdout)")
        #expect(agent.stdout.contains("execution.status=SUCCEEDED"), "\(agent.stdout)")
        #expect(try await JSONValue(parsing: shell.run("\"$SLIPWAY\" versions list demand --json").stdout).arrayValue?.count == 1)

        let off = try await shell.run("""
            cd work && sed -i 's/^build:$/build:\\n  train: false/' slipway.yaml && git commit -qam 'no training on push' && git push -q origin main
            "$SLIPWAY" agent --once
            """)
        #expect(off.status == 0, "\(off.stderr)")
        #expect(!off.stdout.contains("training started"), "\(off.stdout)")
        #expect(try await JSONValue(parsing: shell.run("\"$SLIPWAY\" versions list demand --json").stdout).arrayValue?.count == 1)
    }
}
