import Agent
import Foundation
import LogCapture
import Logging
import Pipelines
import Registry
import StatesLanguage
import Testing

/// The execution service's limit counts executions running jobs, not executions: one in a
/// Wait state holds no slot, and jobs of two executions never overlap under a limit of 1.
@Suite struct ExecutionServiceTests {
    /// A task running `script` with `sh -c` in the execution's folder.
    static func command(_ script: String, next: String? = nil) -> String {
        let json = try! JSONSerialization.data(withJSONObject: ["sh", "-c", script])
        let tail = next.map { #""Next": "\#($0)""# } ?? #""End": true"#
        return #"{"Type": "Task", "Resource": "slipway:command", "Parameters": {"Command": \#(String(decoding: json, as: UTF8.self))}, \#(tail)}"#
    }

    /// Runs a service with `limit` over a fresh home until `body` returns, then cancels it.
    func withService(limit: Int, _ body: (ExecutionStore, LogLines, String) async throws -> Void) async throws {
        let root = NSTemporaryDirectory() + "slipway-execution-service-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: root) }
        let registry = try Registry(home: root + "/home")
        let lines = LogLines()
        let service = ExecutionService(executions: PipelineExecutions(home: root + "/home", registry: registry, logger: lines.logger), limit: limit,
                                       changes: Changes(interval: .milliseconds(200), logger: lines.logger), logger: lines.logger)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await service.run() }
            try await body(service.executions.store, lines, root)
            group.cancelAll()
        }
    }

    @Test func anExecutionInAWaitStateHoldsNoJobSlot() async throws {
        try await withService(limit: 1) { store, lines, _ in
            let waiting = try store.create(name: "waiting", definition: #"""
                {"StartAt": "Work", "States": {"Work": \#(Self.command("true", next: "Nap")),
                 "Nap": {"Type": "Wait", "Seconds": 3600, "End": true}}}
                """#, input: [:], stateMachineName: "waiting")
            _ = try await eventually("the first execution to reach its Wait", lines) { () -> Bool? in
                try store.status(of: waiting).history.contains { $0.type == "WaitStateEntered" } ? true : nil
            }
            let working = try store.create(name: "working", definition: #"{"StartAt": "Work", "States": {"Work": \#(Self.command("true"))}}"#,
                                           input: [:], stateMachineName: "working")
            let status = try await eventually("the second execution's job to run while the first waits", lines) { () -> String? in
                let status = try store.status(of: working).status
                return status == "RUNNING" ? nil : status
            }
            #expect(status == "SUCCEEDED")
            #expect(try store.status(of: waiting).status == "RUNNING")
        }
    }

    @Test func jobsOfTwoExecutionsNeverOverlapUnderALimitOfOne() async throws {
        try await withService(limit: 1) { store, lines, root in
            // Each job holds a folder for a second; a second job at the same time cannot make it.
            let exclusive = Self.command("mkdir \(root)/busy || exit 3; sleep 1; rmdir \(root)/busy")
            let definition = #"{"StartAt": "A", "States": {"A": \#(exclusive)}}"#
            let stored = try ["first", "second", "third"].map { try store.create(name: $0, definition: definition, input: [:], stateMachineName: $0) }
            let statuses = try await eventually("three executions to end", lines) { () -> [String]? in
                let statuses = try stored.map { try store.status(of: $0).status }
                return statuses.contains("RUNNING") ? nil : statuses
            }
            #expect(statuses == ["SUCCEEDED", "SUCCEEDED", "SUCCEEDED"], "\(lines.all.suffix(20))")
        }
    }
}
