import JSON
import Testing
@testable import StatesLanguage

@Suite struct DefinitionTests {
    /// The specification's first example, extended with every state type.
    static let valid = """
        {
          "Comment": "A simple minimal example of the States language",
          "StartAt": "Hello World",
          "TimeoutSeconds": 3600,
          "States": {
            "Hello World": {"Type": "Task", "Resource": "echo", "ResultPath": "$.greeting", "Next": "Decide",
              "Retry": [{"ErrorEquals": ["States.Timeout"], "IntervalSeconds": 1, "MaxAttempts": 2, "BackoffRate": 2.0},
                        {"ErrorEquals": ["States.ALL"], "MaxDelaySeconds": 10, "JitterStrategy": "FULL"}],
              "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Failed"}]},
            "Decide": {"Type": "Choice", "Default": "Wait",
              "Choices": [
                {"Variable": "$.n", "NumericGreaterThanPath": "$.limit", "Next": "Each"},
                {"And": [{"Variable": "$.s", "StringMatches": "log-*.txt"}, {"Not": {"Variable": "$.t", "IsPresent": true}}], "Next": "Both"}]},
            "Wait": {"Type": "Wait", "SecondsPath": "$.delay", "Next": "Both"},
            "Both": {"Type": "Parallel", "Next": "Done", "ResultSelector": {"first.$": "$[0]"},
              "Branches": [{"StartAt": "A", "States": {"A": {"Type": "Pass", "End": true}}},
                           {"StartAt": "B", "States": {"B": {"Type": "Succeed"}}}]},
            "Each": {"Type": "Map", "ItemsPath": "$.items", "MaxConcurrency": 2, "Next": "Done",
              "ItemSelector": {"value.$": "$$.Map.Item.Value", "label.$": "States.Format('item {}', $$.Map.Item.Index)"},
              "ItemProcessor": {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}},
            "Done": {"Type": "Succeed"},
            "Failed": {"Type": "Fail", "Error": "Oops", "CausePath": "$.error.Cause"}
          }
        }
        """

    @Test func aDefinitionUsingEveryStateTypeIsValid() throws {
        let machine = try StateMachine(json: Self.valid)
        #expect(machine.startAt == "Hello World")
        #expect(machine.states.count == 7)
        #expect(machine.states["Both"]?.machines.count == 2)
        #expect(machine.states["Each"]?.machines.first?.startAt == "P")
        #expect(machine.timeoutSeconds == 3600)
    }

    @Test func everyProblemIsReportedWithItsPointer() throws {
        let text = """
            {"StartAt": "Missing", "Colour": 1,
             "States": {
               "Train": {"Type": "Task", "Next": "Nowhere", "ResultPath": "$.a[*]", "Parameters": {"x.$": "States.MathAdd(1)", "y.$": "nope"},
                 "Retry": [{"ErrorEquals": ["States.ALL"], "BackoffRate": 0.5}, {"ErrorEquals": ["Custom"], "MaxAttempts": -1}]},
               "Pick": {"Type": "Choice", "Choices": [{"Variable": "$.x", "StringEquals": 3}, {"Variable": "$.y", "NumericEquals": 1, "BooleanEquals": true, "Next": "Train"}]},
               "Sleep": {"Type": "Wait", "Seconds": 1, "Timestamp": "yesterday", "End": true},
               "Lost": {"Type": "Pass", "Next": "Sleep", "End": true},
               "Odd": {"Type": "Frobnicate"},
               "Stop": {"Type": "Fail", "Error": "E", "ErrorPath": "$.e", "Nxt": "x"}
             }}
            """
        let error = #expect(throws: InvalidDefinition.self) { try StateMachine(json: text) }
        let problems = error?.problems ?? []
        func has(_ pointer: String, _ fragment: String) -> Bool {
            problems.contains { $0.pointer == pointer && $0.message.contains(fragment) }
        }
        #expect(has("/StartAt", "no state named 'Missing'"))
        #expect(has("/Colour", "unknown field"))
        #expect(has("/States/Train/Resource", "required"))
        #expect(has("/States/Train/Next", "no state named 'Nowhere'"))
        #expect(has("/States/Train/ResultPath", "must be a reference path"))
        #expect(has("/States/Train/Parameters/x.$", "States.MathAdd takes 2 arguments, not 1"))
        #expect(has("/States/Train/Parameters/y.$", "starts with '$'"))
        #expect(has("/States/Train/Retry/0/ErrorEquals", "States.ALL must be in the last retrier"))
        #expect(has("/States/Train/Retry/0/BackoffRate", "at least 1.0"))
        #expect(has("/States/Train/Retry/1/MaxAttempts", "non-negative"))
        #expect(has("/States/Pick/Choices/0/Next", "required in a top-level choice rule"))
        #expect(has("/States/Pick/Choices/0/StringEquals", "must be a string"))
        #expect(has("/States/Pick/Choices/1", "exactly one comparison"))
        #expect(has("/States/Sleep", "exactly one of Seconds, Timestamp"))
        #expect(has("/States/Sleep/Timestamp", "RFC 3339"))
        #expect(has("/States/Lost", "not both"))
        #expect(has("/States/Odd/Type", "one of Pass, Task"))
        #expect(has("/States/Stop", "Error or ErrorPath, not both"))
        #expect(has("/States/Stop/Nxt", "unknown field for a Fail state"))
    }

    @Test func unreachableStatesAndMachinesWithoutAnEndAreReported() throws {
        let error = #expect(throws: InvalidDefinition.self) {
            try StateMachine(json: #"{"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "A"}, "B": {"Type": "Pass", "Next": "A"}}}"#)
        }
        #expect(error?.problems.map(\.description) == [
            "/States/B: state 'B' is unreachable from 'A'",
            "/States: no terminal state: a machine needs a Succeed or Fail state, or a state with \"End\": true",
        ])
    }

    @Test func nestedMachinesAreValidatedWithTheirOwnScope() throws {
        let text = """
            {"StartAt": "P", "States": {"P": {"Type": "Parallel", "End": true, "Branches": [
              {"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "P"}}}]}}}
            """
        let error = #expect(throws: InvalidDefinition.self) { try StateMachine(json: text) }
        #expect(error?.problems.contains { $0.pointer == "/States/P/Branches/0/States/A/Next" && $0.message.contains("no state named 'P' in this machine") } == true)
    }

    @Test func notJSONIsOneProblemAtTheRoot() {
        let error = #expect(throws: InvalidDefinition.self) { try StateMachine(json: "{") }
        #expect(error?.problems.first?.pointer == "")
    }
}
