import Foundation
import Registry
import Testing

@Suite struct StatesCLITests {
    let home = TemporaryHome()

    @Test func validateExitsOneWithEveryProblemAndItsPointer() async throws {
        let good = home.path + "/good.json", bad = home.path + "/bad.json"
        try Data(#"{"StartAt": "A", "States": {"A": {"Type": "Pass", "End": true}}}"#.utf8).write(to: URL(fileURLWithPath: good))
        try Data(#"{"StartAt": "A", "States": {"A": {"Type": "Task", "Next": "B"}}}"#.utf8).write(to: URL(fileURLWithPath: bad))
        #expect(try await Slipway.run(["states", "validate", good]).status == 0)
        let result = try await Slipway.run(["states", "validate", bad, "--json"])
        #expect(result.status == 1)
        let pointers = try JSONValue(parsing: result.stdout).arrayValue?.compactMap { $0["pointer"]?.stringValue } ?? []
        #expect(pointers.contains("/States/A/Resource"))
        #expect(pointers.contains("/States/A/Next"))
        #expect(try await Slipway.run(["states", "validate", home.path + "/none.json"]).status == 4)
    }
}

@Suite struct StatesRunCLITests {
    let home = TemporaryHome()

    @Test func runPrintsStatusOutputAndHistoryAsJSON() async throws {
        let file = home.path + "/m.json"
        try Data("""
            {"StartAt": "Greet", "States": {
              "Greet": {"Type": "Task", "Resource": "echo", "Parameters": {"msg.$": "States.Format('hi {}', $.who)"}, "Next": "Check"},
              "Check": {"Type": "Choice", "Choices": [{"Variable": "$.msg", "StringEquals": "hi ada", "Next": "Done"}], "Default": "Oops"},
              "Oops": {"Type": "Fail", "Error": "Wrong", "Cause": "not ada"},
              "Done": {"Type": "Succeed"}}}
            """.utf8).write(to: URL(fileURLWithPath: file))
        let good = try await Slipway.run(["states", "run", file, "--input", #"{"who": "ada"}"#, "--json"], home: home.path)
        #expect(good.status == 0, "\(good.stderr)")
        let value = try JSONValue(parsing: good.stdout)
        #expect(value["status"] == "SUCCEEDED")
        #expect(value["output"] == ["msg": "hi ada"])
        #expect(value["history"]?.arrayValue?.first?["type"] == "ExecutionStarted")
        let bad = try await Slipway.run(["states", "run", file, "--input", #"{"who": "bob"}"#, "--name", "bob", "--json"], home: home.path)
        #expect(bad.status == 1)
        let failed = try JSONValue(parsing: bad.stdout)
        #expect(failed["status"] == "FAILED" && failed["error"] == "Wrong" && failed["cause"] == "not ada")
        let listed = try JSONValue(parsing: try await Slipway.run(["executions", "list", "--json"], home: home.path).stdout)
        #expect(listed.arrayValue?.count == 2)
        let described = try JSONValue(parsing: try await Slipway.run(["executions", "describe", "bob", "--json"], home: home.path).stdout)
        #expect(described["status"] == "FAILED" && described["error"] == "Wrong")
        #expect(try await Slipway.run(["states", "run", file, "--name", "bob"], home: home.path).stderr.contains("already exists"))
    }

    @Test func anExecutionKilledMidWayResumesWithoutRerunningSucceededTasks() async throws {
        let file = home.path + "/long.json", runs = home.path + "/runs.txt", gate = home.path + "/gate"
        // Hold waits in a task until the gate exists, so the process is killed inside it
        // however slow the machine is.
        try Data("""
            {"StartAt": "First", "States": {
              "First": {"Type": "Task", "Resource": "slipway:command", "Parameters": {"Command": ["sh", "-c", "echo first >> '\(runs)'"]}, "ResultPath": "$.first", "Next": "Hold"},
              "Hold": {"Type": "Task", "Resource": "slipway:command", "Parameters": {"Command": ["sh", "-c", "while [ ! -e '\(gate)' ]; do sleep 0.1; done"]}, "ResultPath": null, "Next": "Second"},
              "Second": {"Type": "Task", "Resource": "slipway:command", "Parameters": {"Command": ["sh", "-c", "echo second >> '\(runs)'"]}, "ResultPath": "$.second", "End": true}}}
            """.utf8).write(to: URL(fileURLWithPath: file))
        let running = try Slipway.start(["states", "run", file, "--name", "long"], home: home.path)
        var holding = false
        for _ in 0..<1200 where !holding {
            try await Task.sleep(for: .milliseconds(50))
            let journal = (try? String(contentsOfFile: home.path + "/executions/long/journal.jsonl", encoding: .utf8)) ?? ""
            holding = journal.contains(#""name":"Hold""#)
        }
        #expect(holding)
        running.kill()
        #expect(await running.wait().killed)
        #expect(try await JSONValue(parsing: Slipway.run(["executions", "describe", "long", "--json"], home: home.path).stdout)["status"] == "RUNNING")
        FileManager.default.createFile(atPath: gate, contents: Data())

        let resumed = try await Slipway.run(["executions", "resume", "long", "--json"], home: home.path)
        #expect(resumed.status == 0, "\(resumed.stderr)")
        #expect(try JSONValue(parsing: resumed.stdout)["status"] == "SUCCEEDED")
        #expect(try String(contentsOfFile: runs, encoding: .utf8) == "first\nsecond\n")
        let history = try JSONValue(parsing: try await Slipway.run(["executions", "history", "long", "--json"], home: home.path).stdout).arrayValue ?? []
        #expect(history.filter { $0["type"] == "TaskSucceeded" }.count == 3)  // First, Hold and Second, once each
        #expect(history.map { $0["id"]?.intValue ?? 0 } == (1...Int64(history.count)).map { $0 })
    }

    @Test func stopEndsARunningExecutionAndMarksADeadOneAborted() async throws {
        let file = home.path + "/nap.json"
        try Data(#"{"StartAt": "Nap", "States": {"Nap": {"Type": "Wait", "Seconds": 60, "End": true}}}"#.utf8).write(to: URL(fileURLWithPath: file))
        let running = try Slipway.start(["states", "run", file, "--name", "nap", "--json"], home: home.path)
        var waiting = false
        for _ in 0..<600 where !waiting {
            try await Task.sleep(for: .milliseconds(50))
            waiting = (try? String(contentsOfFile: home.path + "/executions/nap/journal.jsonl", encoding: .utf8))?.contains("WaitStateEntered") == true
        }
        #expect(try await Slipway.run(["executions", "stop", "nap"], home: home.path).status == 0)
        let result = await running.wait()
        #expect(result.status == 1)
        #expect(try JSONValue(parsing: result.stdout)["status"] == "ABORTED")
        #expect(try await Slipway.run(["executions", "stop", "nap"], home: home.path).status == 3)

        let dead = try Slipway.start(["states", "run", file, "--name", "dead"], home: home.path)
        var started = false
        for _ in 0..<600 where !started {
            try await Task.sleep(for: .milliseconds(50))
            started = (try? String(contentsOfFile: home.path + "/executions/dead/journal.jsonl", encoding: .utf8))?.contains("WaitStateEntered") == true
        }
        #expect(started)
        dead.kill()
        _ = await dead.wait()
        #expect(try await Slipway.run(["executions", "stop", "dead"], home: home.path).status == 0)
        #expect(try await JSONValue(parsing: Slipway.run(["executions", "describe", "dead", "--json"], home: home.path).stdout)["status"] == "ABORTED")
    }

    @Test func ctrlCOnAForegroundRunEndsItsJobAndAbortsTheExecution() async throws {
        let file = home.path + "/slow.json", pidFile = home.path + "/job.pid"
        try Data("""
            {"StartAt": "Slow", "States": {"Slow": {"Type": "Task", "Resource": "slipway:command",
              "Parameters": {"Command": ["sh", "-c", "echo $$ > '\(pidFile)'; exec sleep 300"]}, "End": true}}}
            """.utf8).write(to: URL(fileURLWithPath: file))
        let running = try Slipway.start(["states", "run", file, "--name", "slow", "--json"], home: home.path)
        var job: Int32?
        for _ in 0..<600 where job == nil {
            try await Task.sleep(for: .milliseconds(50))
            job = (try? String(contentsOfFile: pidFile, encoding: .utf8)).flatMap { Int32($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
        }
        let pid = try #require(job, "the job never started")
        kill(running.process.processIdentifier, SIGINT)
        let result = await running.wait()
        #expect(result.status == 1, "\(result.stderr)")
        #expect(try JSONValue(parsing: result.stdout)["status"] == "ABORTED")
        #expect(try await JSONValue(parsing: Slipway.run(["executions", "describe", "slow", "--json"], home: home.path).stdout)["status"] == "ABORTED")
        // The job's process is gone (or a zombie nobody waits for), not left sleeping.
        let state = (try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)).map { $0.contains(") Z ") ? "zombie" : "alive" }
        #expect(state == nil || state == "zombie", "the job \(pid) is still running")
    }

    @Test func redriveRerunsAFailedExecutionFromItsFailedState() async throws {
        let file = home.path + "/redrive.json", runs = home.path + "/runs.txt", gate = home.path + "/gate"
        try Data("""
            {"StartAt": "Count", "States": {
              "Count": {"Type": "Task", "Resource": "slipway:command", "Parameters": {"Command": ["sh", "-c", "echo count >> '\(runs)'"]}, "ResultPath": null, "Next": "Gate"},
              "Gate": {"Type": "Task", "Resource": "slipway:command", "Parameters": {"Command": ["test", "-e", "\(gate)"]}, "ResultPath": null, "End": true}}}
            """.utf8).write(to: URL(fileURLWithPath: file))
        #expect(try await Slipway.run(["states", "run", file, "--name", "r"], home: home.path).status == 1)
        #expect(try await Slipway.run(["executions", "redrive", "nope"], home: home.path).status == 4)
        _ = FileManager.default.createFile(atPath: gate, contents: Data())
        let redriven = try await Slipway.run(["executions", "redrive", "r", "--json"], home: home.path)
        #expect(redriven.status == 0, "\(redriven.stdout)\(redriven.stderr)")
        #expect(try String(contentsOfFile: runs, encoding: .utf8) == "count\n")
        #expect(try await Slipway.run(["executions", "redrive", "r"], home: home.path).status == 3)  // it succeeded now
    }
}

@Suite struct VersionsCLITests {
    let home = TemporaryHome()

    @Test func approveAndRejectDecideAPendingVersionOnce() async throws {
        let registry = try Registry(home: home.path)
        for n in 1...2 {
            try registry.put("versions", ItemKey("demand", String(format: "%08d", n)), [
                "model": "demand", "version": .int(Int64(n)), "status": "PendingManualApproval", "metrics": ["mse": 3],
            ])
        }
        #expect(try await Slipway.run(["approve", "demand", "1", "--note", "ok"], home: home.path).status == 0)
        #expect(try await Slipway.run(["reject", "demand", "2", "--reason", "drifted"], home: home.path).status == 0)
        let again = try await Slipway.run(["approve", "demand", "2"], home: home.path)
        #expect(again.status == 3)
        #expect(again.stderr.contains("version 2 of 'demand' is Rejected"))
        #expect(try await Slipway.run(["approve", "demand", "7"], home: home.path).status == 4)
        #expect(try await Slipway.run(["reject", "demand", "1"], home: home.path).status == 2)  // --reason is required
        let list = try JSONValue(parsing: try await Slipway.run(["versions", "list", "demand", "--json"], home: home.path).stdout)
        #expect(list.arrayValue?.map { $0["status"] } == ["Approved", "Rejected"])
        #expect(list.arrayValue?.first?["version"] == 1 && list.arrayValue?.first?["metrics"] == ["mse": 3])
    }
}
