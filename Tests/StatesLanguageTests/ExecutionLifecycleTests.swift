import Foundation
import JSON
import Synchronization
import Testing
@testable import StatesLanguage

@Suite struct ResumeTests {
    @Test func aResumedExecutionSkipsWhatItsJournalRecorded() async throws {
        let machine = try StateMachine(json: """
            {"StartAt": "A", "States": {
              "A": {"Type": "Task", "Resource": "count", "ResultPath": "$.a", "Next": "B"},
              "B": {"Type": "Map", "ItemsPath": "$.items", "ResultPath": "$.b", "Next": "C",
                    "ItemProcessor": {"StartAt": "I", "States": {"I": {"Type": "Task", "Resource": "count", "End": true}}}},
              "C": {"Type": "Task", "Resource": "count", "ResultPath": "$.c", "End": true}}}
            """)
        let counter = Flaky(failures: 0)
        let first = MemoryJournal()
        let engine = Engine(resources: ["count": counter], clock: ManualClock())
        let full = await engine.run(machine, input: ["items": [1, 2]], name: "x", journal: first)
        #expect(full.status == "SUCCEEDED")
        #expect(counter.calls.withLock { $0 } == 4)

        // The process died right after the Map's second item succeeded: keep the journal up to there.
        let records = try first.records()
        let cut = records.lastIndex { $0["kind"] == "task" && ($0["key"]?.stringValue?.contains("item1") ?? false) }!
        let journal = MemoryJournal(Array(records[...cut]))
        let again = Flaky(failures: 0)
        let resumed = await Engine(resources: ["count": again], clock: ManualClock()).run(machine, input: ["items": [1, 2]], name: "x", journal: journal)
        #expect(resumed.status == "SUCCEEDED")
        #expect(again.calls.withLock { $0 } == 1, "only C runs again")
        #expect(resumed.output?["b"]?.arrayValue?.count == 2)
        // A finished execution's journal just reports its end.
        let done = await Engine(resources: ["count": again], clock: ManualClock()).run(machine, input: [:], name: "x", journal: journal)
        #expect(done.status == "SUCCEEDED")
        #expect(again.calls.withLock { $0 } == 1)
    }
}

/// A task that takes `seconds` of the engine's clock.
struct Slow: TaskResource {
    let clock: any EngineClock
    let seconds: Double
    func invoke(_ request: TaskRequest) async throws(StatesError) -> JSONValue {
        do { try await clock.sleep(seconds) } catch { throw StatesError("Cancelled", "") }
        return "done"
    }
}

@Suite struct TimeoutTests {
    @Test func aTaskPastItsTimeoutFailsWithStatesTimeoutAndCanBeRetried() async throws {
        let clock = ManualClock()
        let machine = try StateMachine(json: """
            {"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "slow", "TimeoutSecondsPath": "$.limit", "End": true,
              "Retry": [{"ErrorEquals": ["States.Timeout"], "MaxAttempts": 1, "IntervalSeconds": 1}]}}}
            """)
        let outcome = await Engine(resources: ["slow": Slow(clock: clock, seconds: 10)], clock: clock).run(machine, input: ["limit": 5])
        #expect(outcome.status == "FAILED")  // as in AWS: only the execution's own timeout is TIMED_OUT
        #expect(outcome.error?.error == "States.Timeout")
        #expect(outcome.history.filter { $0.type == "TaskTimedOut" }.count == 2)
        let fast = await Engine(resources: ["slow": Slow(clock: clock, seconds: 2)], clock: clock).run(machine, input: ["limit": 5])
        #expect(fast.status == "SUCCEEDED")
    }

    @Test func anExecutionPastItsTimeoutIsTimedOut() async throws {
        let clock = ManualClock()
        let machine = try StateMachine(json: #"{"TimeoutSeconds": 60, "StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 120, "End": true}}}"#)
        let outcome = await Engine(clock: clock).run(machine, input: [:])
        #expect(outcome.status == "TIMED_OUT")
        #expect(outcome.error?.error == "States.Timeout")
        #expect(outcome.history.last?.type == "ExecutionTimedOut")
    }

    @Test func aStuckTaskIsInterruptedOnTheRealClock() async throws {
        let machine = try StateMachine(json: """
            {"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "slipway:command", "TimeoutSeconds": 1,
              "Parameters": {"Command": ["sleep", "600"]}, "End": true}}}
            """)
        let started = Date()
        let outcome = await Engine(resources: BuiltInResources.all).run(machine, input: [:])
        #expect(outcome.error?.error == "States.Timeout")
        // Well before the command would end by itself (the bound is loose: a loaded test run
        // can keep the two-thread concurrency pool busy for a while).
        #expect(Date().timeIntervalSince(started) < 300)
    }
}

/// Records the task token it was given.
final class TokenCatcher: TaskResource, @unchecked Sendable {
    let token = Mutex<String?>(nil)
    func invoke(_ request: TaskRequest) async throws(StatesError) -> JSONValue {
        token.withLock { $0 = request.token }
        return "ignored"
    }
}

@Suite struct TaskTokenTests {
    let folder = NSTemporaryDirectory() + "slipway-tokens-\(UUID().uuidString)"

    @Test func aWaitForTaskTokenTaskEndsWithTheOutputSentForItsToken() async throws {
        let catcher = TokenCatcher()
        let tokens = FileTaskTokens(folder: folder)
        let machine = try StateMachine(json: """
            {"StartAt": "Approve", "States": {"Approve": {"Type": "Task", "Resource": "approval.waitForTaskToken",
              "Parameters": {"token.$": "$$.Task.Token"}, "ResultPath": "$.decision", "End": true}}}
            """)
        let engine = Engine(resources: ["approval": catcher], tokens: tokens)
        async let outcome = engine.run(machine, input: ["model": "demand"])
        var token: String?
        for _ in 0..<400 where token == nil {
            try await Task.sleep(nanoseconds: 20_000_000)
            token = catcher.token.withLock { $0 }
        }
        let sent = try #require(token)
        try tokens.succeed(sent, output: ["approved": true])
        let result = await outcome
        #expect(result.status == "SUCCEEDED")
        #expect(result.output == ["model": "demand", "decision": ["approved": true]])
        #expect(throws: StatesError.self) { try tokens.succeed(sent, output: [:]) }  // only once
    }

    @Test func aTokenFailedFromOutsideFailsTheTaskAndSilenceTimesItOut() async throws {
        let tokens = FileTaskTokens(folder: folder)
        let catcher = TokenCatcher()
        let failing = try StateMachine(json: #"{"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "x.waitForTaskToken", "End": true}}}"#)
        let engine = Engine(resources: ["x": catcher], tokens: tokens)
        async let outcome = engine.run(failing, input: [:])
        var token: String?
        for _ in 0..<400 where token == nil {
            try await Task.sleep(nanoseconds: 20_000_000)
            token = catcher.token.withLock { $0 }
        }
        try tokens.fail(try #require(token), error: "Rejected", cause: "not good enough")
        #expect(await outcome.error == StatesError("Rejected", "not good enough"))

        let silent = try StateMachine(json: #"{"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "x.waitForTaskToken", "HeartbeatSeconds": 5, "End": true}}}"#)
        let timedOut = await Engine(resources: ["x": TokenCatcher()], clock: ManualClock(), tokens: tokens).run(silent, input: [:], name: "silent")
        #expect(timedOut.error?.error == "States.HeartbeatTimeout")
        #expect(timedOut.history.contains { $0.type == "TaskTimedOut" })
    }
}

@Suite struct RedriveTests {
    @Test func aRedrivenExecutionReusesWhatSucceededAndRerunsWhatFailed() async throws {
        let machine = try StateMachine(json: """
            {"StartAt": "A", "States": {
              "A": {"Type": "Task", "Resource": "count", "ResultPath": "$.a", "Next": "B"},
              "B": {"Type": "Task", "Resource": "flaky", "ResultPath": "$.b", "End": true}}}
            """)
        let journal = MemoryJournal()
        let count = Flaky(failures: 0), flaky = Flaky(failures: 1, error: "Broken")
        let engine = Engine(resources: ["count": count, "flaky": flaky], clock: ManualClock())
        let failed = await engine.run(machine, input: [:], name: "r", journal: journal)
        #expect(failed.error?.error == "Broken")
        try journal.append(["kind": "redrive"])
        let redriven = await engine.run(machine, input: [:], name: "r", journal: journal)
        #expect(redriven.status == "SUCCEEDED")
        #expect(count.calls.withLock { $0 } == 1, "A is not run again")
        #expect(flaky.calls.withLock { $0 } == 2)
        #expect(redriven.history.contains { $0.type == "ExecutionRedriven" })
        #expect(redriven.history.map(\.id) == Array(1...redriven.history.count))
    }
}

@Suite(.serialized) struct HTTPInvokeTests {
    @Test func theHTTPTaskCallsARealServerAndFailsOnErrorStatuses() async throws {
        let folder = NSTemporaryDirectory() + "slipway-http-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try Data(#"{"price": 12.5}"#.utf8).write(to: URL(fileURLWithPath: folder + "/quote.json"))
        let port = Int.random(in: 20_000..<40_000)
        let server = Process()
        server.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        server.arguments = ["python3", "-m", "http.server", "\(port)", "--bind", "127.0.0.1", "--directory", folder]
        server.standardOutput = FileHandle.nullDevice
        server.standardError = FileHandle.nullDevice
        try server.run()
        defer {
            kill(server.processIdentifier, SIGKILL)
            server.waitUntilExit()
        }
        let machine = try StateMachine(json: """
            {"StartAt": "Get", "States": {"Get": {"Type": "Task", "Resource": "arn:aws:states:::http:invoke",
              "Parameters": {"ApiEndpoint.$": "$.url", "Method": "GET", "QueryParameters": {"sku": "a1"}},
              "ResultSelector": {"status.$": "$.StatusCode", "price.$": "$.ResponseBody.price"}, "End": true,
              "Retry": [{"ErrorEquals": ["States.Http.Socket"], "IntervalSeconds": 1, "MaxAttempts": 10, "BackoffRate": 1}]}}}
            """)
        let engine = Engine(resources: BuiltInResources.all)
        let ok = await engine.run(machine, input: ["url": .string("http://127.0.0.1:\(port)/quote.json")])
        #expect(ok.status == "SUCCEEDED", "\(ok.error?.description ?? "")")
        #expect(ok.output == ["status": 200, "price": 12.5])
        let missing = await engine.run(machine, input: ["url": .string("http://127.0.0.1:\(port)/missing.json")])
        #expect(missing.error?.error == "States.Http.StatusCode.404")
    }
}

@Suite struct ReviewFixTests {
    @Test func aTaskThatSucceededOnARetryIsNotCalledAgainOnResume() async throws {
        let machine = try StateMachine(json: """
            {"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "flaky", "Next": "After",
              "Retry": [{"ErrorEquals": ["States.ALL"], "MaxAttempts": 3}]}, "After": {"Type": "Pass", "End": true}}}
            """)
        let flaky = Flaky(failures: 1)
        let journal = MemoryJournal()
        _ = await Engine(resources: ["flaky": flaky], clock: ManualClock()).run(machine, input: [:], name: "x", journal: journal)
        let records = try journal.records()
        let cut = records.firstIndex { $0["kind"] == "task" }!
        let again = Flaky(failures: 0)
        let resumed = await Engine(resources: ["flaky": again], clock: ManualClock()).run(machine, input: [:], name: "x", journal: MemoryJournal(Array(records[...cut])))
        #expect(resumed.status == "SUCCEEDED")
        #expect(again.calls.withLock { $0 } == 0)
    }

    @Test func aFailedMapStartsNoMoreItemsAndAFailedBranchStopsTheOthers() async throws {
        let counter = Flaky(failures: 0)
        let machine = try StateMachine(json: """
            {"StartAt": "M", "States": {"M": {"Type": "Map", "MaxConcurrency": 1, "End": true,
              "ItemProcessor": {"StartAt": "C", "States": {
                "C": {"Type": "Choice", "Choices": [{"Variable": "$", "StringEquals": "fail", "Next": "F"}], "Default": "Work"},
                "F": {"Type": "Fail", "Error": "Item.Failed"},
                "Work": {"Type": "Task", "Resource": "count", "End": true}}}}}}
            """)
        let outcome = await Engine(resources: ["count": counter], clock: ManualClock()).run(machine, input: ["fail", "side", "side"])
        #expect(outcome.error?.error == "Item.Failed")
        #expect(counter.calls.withLock { $0 } == 0)
        #expect(outcome.history.filter { $0.type == "FailStateEntered" }.count == 1)
    }

    @Test func heartbeatTimeoutsMatchStatesTimeoutAndNotTaskFailed() {
        let heartbeat = StatesError("States.HeartbeatTimeout", "")
        #expect(Interpreter.handler(for: heartbeat, in: [["ErrorEquals": ["States.TaskFailed"]], ["ErrorEquals": ["States.Timeout"], "Next": "T"]])?.1 == 1)
        #expect(Interpreter.handler(for: StatesError("Custom", ""), in: [["ErrorEquals": ["States.TaskFailed"]]])?.1 == 0)
        #expect(Interpreter.handler(for: .runtime("x"), in: [["ErrorEquals": ["States.ALL"]]]) == nil)
    }

    @Test func stringEqualityComparesCodePointsNotCanonicalEquivalence() async throws {
        let machine = try StateMachine(json: """
            {"StartAt": "C", "States": {"C": {"Type": "Choice", "Choices": [{"Variable": "$.s", "StringEquals": "é", "Next": "Same"}], "Default": "Different"},
              "Same": {"Type": "Pass", "Result": "same", "End": true}, "Different": {"Type": "Pass", "Result": "different", "End": true}}}
            """)
        #expect(await Engine().run(machine, input: ["s": "e\u{301}"]).output == "different")
        #expect(await Engine().run(machine, input: ["s": "\u{e9}"]).output == "same")
    }

    @Test func aResumedExecutionKeepsItsRetryCountsAndWaitDeadlines() async throws {
        let retrying = try StateMachine(json: """
            {"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "flaky", "End": true,
              "Retry": [{"ErrorEquals": ["Busy"], "MaxAttempts": 1}]}}}
            """)
        let journal = MemoryJournal()
        _ = await Engine(resources: ["flaky": Flaky(failures: 1)], clock: ManualClock()).run(retrying, input: [:], name: "r", journal: journal)
        let records = try journal.records()
        let cut = records.firstIndex { $0["kind"] == "retry" }!
        let resumed = await Engine(resources: ["flaky": Flaky(failures: 1)], clock: ManualClock())
            .run(retrying, input: [:], name: "r", journal: MemoryJournal(Array(records[...cut])))
        #expect(resumed.error?.error == "Busy", "the one retry allowed was already used before the restart")

        let waiting = try StateMachine(json: #"{"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 100, "End": true}}}"#)
        let first = MemoryJournal()
        _ = await Engine(clock: ManualClock()).run(waiting, input: [:], name: "w", journal: first)
        let waitRecords = try first.records()
        let upToWait = waitRecords.firstIndex { $0["kind"] == "waitUntil" }!
        let clock = ManualClock()
        try await clock.sleep(60)  // the process was down for a minute
        let done = await Engine(clock: clock).run(waiting, input: [:], name: "w", journal: MemoryJournal(Array(waitRecords[...upToWait])))
        #expect(done.status == "SUCCEEDED")
        #expect(clock.waits == [60, 40])
    }

    @Test func failCanBuildItsCauseWithAnIntrinsic() async throws {
        let machine = try StateMachine(json: #"{"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "Bad", "CausePath": "States.Format('bad input {}', $.x)"}}}"#)
        #expect(await Engine().run(machine, input: ["x": 3]).error == StatesError("Bad", "bad input 3"))
    }
}
