import ArgumentParser
import Foundation
import JSON
import StatesLanguage

/// `slipway-bench states`: state transitions per second of the engine, history kept.
struct StatesBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "states", abstract: "ASL engine transitions per second.")
    @Option(help: "Items of the Map figure.") var items = 10_000
    @Option(help: "States of the chain figure.") var chain = 1_000

    func run() async throws {
        print("states benchmark (in-process, history kept, manual clock)")
        let map = try StateMachine(json: """
            {"StartAt": "M", "States": {"M": {"Type": "Map", "End": true, "MaxConcurrency": 0,
              "ItemProcessor": {"StartAt": "P", "States": {"P": {"Type": "Pass", "Parameters": {"v.$": "$"}, "End": true}}}}}}
            """)
        try await measure("Map of \(items) items over a Pass state", map, input: .array((0..<items).map { .int(Int64($0)) }))

        var states: [String: JSONValue] = [:]
        for i in 0..<chain {
            let next = i + 1 < chain ? "S\(i + 1)" : "End"
            if i % 2 == 0 {
                states["S\(i)"] = ["Type": "Pass", "Result": .int(Int64(i)), "ResultPath": "$.last", "Next": .string(next)]
            } else {
                states["S\(i)"] = ["Type": "Choice", "Default": .string(next),
                                   "Choices": [["Variable": "$.last", "NumericLessThan": 0, "Next": "End"]]]
            }
        }
        states["End"] = ["Type": "Succeed"]
        let chained = try StateMachine(definition: ["StartAt": "S0", "States": .object(states)])
        try await measure("chain of \(chain) Pass/Choice states", chained, input: [:])
        let journal = NSTemporaryDirectory() + "slipway-bench-journal-\(getpid()).jsonl"
        defer { try? FileManager.default.removeItem(atPath: journal) }
        try await measure("the same chain, journaled (fsync per record)", chained, input: [:], journal: FileJournal(path: journal))
    }

    func measure(_ label: String, _ machine: StateMachine, input: JSONValue, journal: (any ExecutionJournal)? = nil) async throws {
        let engine = Engine(resources: BuiltInResources.all, clock: ManualClock())
        let start = ContinuousClock.now
        let outcome = await engine.run(machine, input: input, journal: journal)
        let elapsed = ContinuousClock.now - start
        guard outcome.status == ExecutionStatus.succeeded.rawValue else { throw ValidationError("\(label): \(outcome.status) \(outcome.error?.description ?? "")") }
        let transitions = outcome.history.filter { $0.type.hasSuffix("StateEntered") }.count
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        var usage = rusage()
        getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
        print(String(format: "%-44@ %7d transitions in %.3f s = %9.0f transitions/s, %6d history events, max RSS %d MiB",
                     label as NSString, transitions, seconds, Double(transitions) / seconds, outcome.history.count, usage.ru_maxrss / 1024))
    }
}
