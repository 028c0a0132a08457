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
