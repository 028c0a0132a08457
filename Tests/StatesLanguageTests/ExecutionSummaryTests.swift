import Foundation
import JSON
import Testing
@testable import StatesLanguage

@Suite struct ExecutionSummaryTests {
    @Test func summariesAndDescriptionsTellHowEachStoredExecutionEnded() async throws {
        var bytes = Array((NSTemporaryDirectory() + "slipway-summaries-XXXXXX").utf8CString)
        let folder = String(cString: mkdtemp(&bytes)!)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let store = ExecutionStore(folder: folder)
        let pass = #"{"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": {"price": 4.5}, "End": true}}}"#
        let fail = #"{"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "Gate.Failed", "Cause": "mse too high"}}}"#
        for (name, definition) in [("a-passes", pass), ("b-fails", fail)] {
            let (stored, lock) = try store.createHeld(name: name, definition: definition, input: ["model": "demand"], stateMachineName: name)
            _ = await Engine().run(stored.machine, input: stored.input, name: name, journal: stored.journal)
            withExtendedLifetime(lock) {}
        }
        _ = try store.create(name: "c-waits", definition: pass, input: [:], stateMachineName: "training")
        try FileManager.default.createDirectory(atPath: folder + "/d-damaged", withIntermediateDirectories: true)

        let summaries = store.summaries()
        #expect(summaries.map(\.name) == ["a-passes", "b-fails", "c-waits"], "the damaged one is left out")
        #expect(summaries.map(\.status) == ["SUCCEEDED", "FAILED", "RUNNING"])
        #expect(summaries[1].end?["error"] == "Gate.Failed" && summaries[1].end?["cause"] == "mse too high")
        #expect(summaries[2].end == nil)
        #expect(summaries[2].json == ["name": "c-waits", "status": "RUNNING", "stateMachine": "training"])

        let passed = try store.description(of: try store.open("a-passes"))
        #expect(passed == ["name": "a-passes", "status": "SUCCEEDED", "input": ["model": "demand"], "stateMachine": "a-passes", "output": ["price": 4.5]])
        let failed = try store.description(of: try store.open("b-fails"))
        #expect(failed["error"] == "Gate.Failed" && failed["cause"] == "mse too high" && failed["output"] == nil)
        #expect(try store.description(of: try store.open("c-waits"))["error"] == nil)
    }

    @Test func anOutcomesJSONNamesItsExecution() {
        let outcome = ExecutionOutcome(status: "FAILED", output: nil, error: StatesError("E", "why"), history: [])
        #expect(outcome.json(execution: "x")["execution"] == "x")
        #expect(outcome.json(execution: "x")["status"] == outcome.json["status"])
    }
}
