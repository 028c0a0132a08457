import JSON
import Foundation
import Synchronization
import Testing
@testable import StatesLanguage

/// A resource that fails its first `failures` calls with `error`, then echoes.
final class Flaky: TaskResource, @unchecked Sendable {
    let failures: Int
    let error: String
    let calls = Mutex(0)
    init(failures: Int, error: String = "Busy") {
        self.failures = failures
        self.error = error
    }
    func invoke(_ request: TaskRequest) async throws(StatesError) -> JSONValue {
        let n = calls.withLock { $0 += 1; return $0 }
        if n <= failures { throw StatesError(error, "call \(n) failed") }
        return ["ok": true, "retry": request.context["State"]?["RetryCount"] ?? .null]
    }
}

@Suite struct EngineTests {
    func run(_ definition: String, _ input: JSONValue = [:], resources: [String: any TaskResource] = [:], clock: ManualClock = ManualClock()) async throws -> ExecutionOutcome {
        let machine = try StateMachine(json: definition)
        let engine = Engine(resources: BuiltInResources.all.merging(resources) { $1 }, clock: clock)
        return await engine.run(machine, input: input, name: "test")
    }

    @Test func inputAndOutputProcessingFollowTheSpecificationsOrder() async throws {
        // The specification's example: InputPath, Parameters, ResultSelector, ResultPath, OutputPath.
        let outcome = try await run("""
            {"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "echo", "End": true,
              "InputPath": "$.lib",
              "Parameters": {"title.$": "$.title", "static": 1, "run.$": "$$.Execution.Name", "upper.$": "States.Format('[{}]', $.title)"},
              "ResultSelector": {"t.$": "$.title", "u.$": "$.upper", "r.$": "$.run"},
              "ResultPath": "$.lib.result",
              "OutputPath": "$.lib"}}}
            """, ["lib": ["title": "Dune"], "other": 1])
        #expect(outcome.status == "SUCCEEDED")
        #expect(outcome.output == ["title": "Dune", "result": ["t": "Dune", "u": "[Dune]", "r": "test"]])
    }

    @Test func resultPathNullKeepsTheInputAndAMismatchIsAnError() async throws {
        let keep = try await run(#"{"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": 1, "ResultPath": null, "End": true}}}"#, ["a": 1])
        #expect(keep.output == ["a": 1])
        let mismatch = try await run(#"{"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": 1, "ResultPath": "$.a.b", "End": true}}}"#, ["a": 1])
        #expect(mismatch.status == "FAILED")
        #expect(mismatch.error?.error == "States.ResultPathMatchFailure")
    }

    @Test func aMissingPathIsARuntimeErrorThatCatchCannotSwallow() async throws {
        let outcome = try await run("""
            {"StartAt": "T", "States": {
              "T": {"Type": "Task", "Resource": "echo", "Parameters": {"x.$": "$.missing"}, "End": true,
                    "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Caught"}]},
              "Caught": {"Type": "Succeed"}}}
            """)
        #expect(outcome.status == "FAILED")
        #expect(outcome.error?.error == "States.Runtime")
        #expect(outcome.error?.cause.contains("'$.missing' specified for the field 'x.$' could not be found") == true)
    }

    @Test func retriesBackOffAndThenSucceed() async throws {
        let clock = ManualClock()
        let flaky = Flaky(failures: 3)
        let outcome = try await run("""
            {"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "flaky", "End": true,
              "Retry": [{"ErrorEquals": ["Other"], "MaxAttempts": 5},
                        {"ErrorEquals": ["Busy"], "IntervalSeconds": 2, "BackoffRate": 3, "MaxAttempts": 3, "MaxDelaySeconds": 10}]}}}
            """, resources: ["flaky": flaky], clock: clock)
        #expect(outcome.status == "SUCCEEDED")
        #expect(outcome.output == ["ok": true, "retry": 3])
        #expect(clock.waits == [2, 6, 10])
        #expect(outcome.history.filter { $0.type == "TaskFailed" }.count == 3)
    }

    @Test func retriesRunOutThenCatchRoutesTheError() async throws {
        let outcome = try await run("""
            {"StartAt": "T", "States": {
              "T": {"Type": "Task", "Resource": "flaky", "Next": "Done",
                    "Retry": [{"ErrorEquals": ["Busy"], "MaxAttempts": 1}],
                    "Catch": [{"ErrorEquals": ["Nope"], "Next": "Done"}, {"ErrorEquals": ["States.TaskFailed"], "ResultPath": "$.error", "Next": "Recover"}]},
              "Recover": {"Type": "Pass", "End": true},
              "Done": {"Type": "Succeed"}}}
            """, ["keep": 1], resources: ["flaky": Flaky(failures: 5)])
        #expect(outcome.status == "SUCCEEDED")
        #expect(outcome.output?["keep"] == 1)
        #expect(outcome.output?["error"]?["Error"] == "Busy")
        #expect(outcome.output?["error"]?["Cause"] == "call 2 failed")
    }

    @Test func choiceRulesCoverEveryKindOfComparison() async throws {
        let definition = """
            {"StartAt": "C", "States": {
              "C": {"Type": "Choice", "Default": "Other", "Choices": [
                {"And": [{"Variable": "$.n", "NumericGreaterThanEquals": 10}, {"Variable": "$.n", "NumericLessThanPath": "$.limit"}], "Next": "Range"},
                {"Variable": "$.file", "StringMatches": "log-*.txt", "Next": "Log"},
                {"Not": {"Variable": "$.flag", "IsPresent": true}, "Next": "NoFlag"},
                {"Or": [{"Variable": "$.flag", "BooleanEquals": true}, {"Variable": "$.when", "TimestampLessThan": "2020-01-01T00:00:00Z"}], "Next": "Flag"}]},
              "Range": {"Type": "Pass", "Result": "range", "End": true},
              "Log": {"Type": "Pass", "Result": "log", "End": true},
              "NoFlag": {"Type": "Pass", "Result": "no flag", "End": true},
              "Flag": {"Type": "Pass", "Result": "flag", "End": true},
              "Other": {"Type": "Pass", "Result": "other", "End": true}}}
            """
        #expect(try await run(definition, ["n": 12, "limit": 20, "flag": false]).output == "range")
        #expect(try await run(definition, ["n": 25, "limit": 20, "file": "log-1.txt", "flag": false]).output == "log")
        #expect(try await run(definition, ["n": 1, "limit": 20, "file": "x"]).output == "no flag")
        #expect(try await run(definition, ["n": 1, "limit": 20, "file": "x", "flag": true]).output == "flag")
        #expect(try await run(definition, ["n": 1, "limit": 20, "file": "x", "flag": false, "when": "2019-06-01T00:00:00Z"]).output == "flag")
        #expect(try await run(definition, ["n": 1, "limit": 20, "file": "x", "flag": false, "when": "2021-06-01T00:00:00Z"]).output == "other")
        // As in AWS, comparing a path that is not there is a runtime error (IsPresent tests it first).
        let missing = try await run(definition, ["n": 1, "limit": 20])
        #expect(missing.error?.error == "States.Runtime")
        #expect(missing.error?.cause.contains("Invalid path '$.file'") == true)
        let none = try await run(#"{"StartAt": "C", "States": {"C": {"Type": "Choice", "Choices": [{"Variable": "$.a", "StringEquals": "x", "Next": "E"}]}, "E": {"Type": "Succeed"}}}"#, ["a": "y"])
        #expect(none.error?.error == "States.NoChoiceMatched")
    }

    @Test func waitUsesTheInjectedClock() async throws {
        let clock = ManualClock()
        let outcome = try await run("""
            {"StartAt": "A", "States": {
              "A": {"Type": "Wait", "Seconds": 30, "Next": "B"},
              "B": {"Type": "Wait", "SecondsPath": "$.delay", "Next": "C"},
              "C": {"Type": "Wait", "Timestamp": "2026-01-01T01:00:00Z", "End": true}}}
            """, ["delay": 5], clock: clock)
        #expect(outcome.status == "SUCCEEDED")
        #expect(clock.waits == [30, 5, 3600 - 35])
    }

    @Test func failStatesEndTheExecutionWithTheirErrorAndCause() async throws {
        let outcome = try await run(#"{"StartAt": "F", "States": {"F": {"Type": "Fail", "ErrorPath": "$.e", "Cause": "because"}}}"#, ["e": "Custom.Error"])
        #expect(outcome.status == "FAILED")
        #expect(outcome.error == StatesError("Custom.Error", "because"))
        #expect(outcome.json["error"] == "Custom.Error")
    }

    @Test func parallelRunsEveryBranchAndKeepsTheirOrder() async throws {
        let outcome = try await run("""
            {"StartAt": "P", "States": {"P": {"Type": "Parallel", "End": true, "ResultSelector": {"both.$": "$"}, "Branches": [
              {"StartAt": "A", "States": {"A": {"Type": "Pass", "Parameters": {"branch": "a", "x.$": "$.x"}, "End": true}}},
              {"StartAt": "B", "States": {"B": {"Type": "Wait", "Seconds": 1, "Next": "B2"}, "B2": {"Type": "Pass", "Result": "b", "End": true}}}]}}}
            """, ["x": 7])
        #expect(outcome.output == ["both": [["branch": "a", "x": 7], "b"]])
        let failed = try await run("""
            {"StartAt": "P", "States": {"P": {"Type": "Parallel", "End": true, "Branches": [
              {"StartAt": "A", "States": {"A": {"Type": "Fail", "Error": "Branch.Broke"}}}]}}}
            """)
        #expect(failed.error?.error == "Branch.Broke")
    }

    @Test func mapRunsEachItemWithItsIndexAndToleratesFailures() async throws {
        let outcome = try await run("""
            {"StartAt": "M", "States": {"M": {"Type": "Map", "ItemsPath": "$.items", "MaxConcurrency": 2, "End": true,
              "ItemSelector": {"value.$": "$$.Map.Item.Value", "index.$": "$$.Map.Item.Index", "label.$": "$.label"},
              "ItemProcessor": {"StartAt": "Double", "States": {"Double": {"Type": "Pass", "End": true}}}}}}
            """, ["items": [10, 20, 30], "label": "L"])
        #expect(outcome.output == [["value": 10, "index": 0, "label": "L"], ["value": 20, "index": 1, "label": "L"], ["value": 30, "index": 2, "label": "L"]])
        #expect(outcome.history.filter { $0.type == "MapIterationSucceeded" }.count == 3)

        let tolerant = """
            {"StartAt": "M", "States": {"M": {"Type": "Map", "End": true, "ToleratedFailureCount": 1,
              "ItemProcessor": {"StartAt": "C", "States": {
                "C": {"Type": "Choice", "Choices": [{"Variable": "$", "NumericGreaterThan": 1, "Next": "Bad"}], "Default": "Good"},
                "Bad": {"Type": "Fail", "Error": "TooBig"}, "Good": {"Type": "Succeed"}}}}}}
            """
        let one = try await run(tolerant, [1, 2])
        #expect(one.status == "SUCCEEDED")
        #expect(one.output == [1, ["Error": "TooBig", "Cause": ""]])
        let two = try await run(tolerant, [3, 2])
        #expect(two.error?.error == "States.ExceedToleratedFailureThreshold")
    }

    @Test func theHistoryUsesStepFunctionsEventNamesInOrder() async throws {
        let outcome = try await run(#"{"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "echo", "Next": "S"}, "S": {"Type": "Succeed"}}}"#)
        #expect(outcome.history.map(\.type) == [
            "ExecutionStarted", "TaskStateEntered", "TaskScheduled", "TaskStarted", "TaskSucceeded", "TaskStateExited",
            "SucceedStateEntered", "SucceedStateExited", "ExecutionSucceeded",
        ])
        #expect(outcome.history.map(\.id) == Array(1...9))
        #expect(outcome.history[1].json["stateEnteredEventDetails"]?["name"] == "T")
    }

    @Test func anUnknownResourceFailsTheTaskWithAHint() async throws {
        let outcome = try await run(#"{"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "End": true}}}"#)
        #expect(outcome.error?.error == "States.TaskFailed")
        #expect(outcome.error?.cause.contains("no task resource registered for 'arn:aws:states:::lambda:invoke'") == true)
    }
}

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
              "Parameters": {"Command": ["sleep", "30"]}, "End": true}}}
            """)
        let started = Date()
        let outcome = await Engine(resources: BuiltInResources.all).run(machine, input: [:])
        #expect(outcome.error?.error == "States.Timeout")
        #expect(Date().timeIntervalSince(started) < 10)
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
        for _ in 0..<100 where token == nil {
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
        for _ in 0..<100 where token == nil {
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
