import Foundation
import JSON

/// One stored execution at a glance: what `slipway executions list` shows.
package struct ExecutionSummary: Sendable, Equatable {
    /// The execution's name.
    package var name: String
    /// `RUNNING`, `SUCCEEDED`, `FAILED`, `TIMED_OUT` or `ABORTED`.
    package var status: String
    /// The state machine it runs (`training`, `deployment`, a definition's file name).
    package var stateMachine: String
    /// The details of its last event once it ended (`output`, or `error` and `cause`), nil
    /// while it runs.
    package var end: JSONValue?

    /// `{"name", "status", "stateMachine"}`.
    package var json: JSONValue {
        ["name": .string(name), "status": .string(status), "stateMachine": .string(stateMachine)]
    }
}

extension ExecutionStore {
    /// Every stored execution that opens and reads, oldest first (a damaged one is left out).
    package func summaries() -> [ExecutionSummary] { read().summaries }

    /// Every stored execution that opens and reads, oldest first, and the folders of
    /// those that do not, with why. (One being created is a dot folder, never listed.)
    package func read() -> (summaries: [ExecutionSummary], unreadable: [(path: String, reason: String)]) {
        var summaries: [ExecutionSummary] = []
        var unreadable: [(path: String, reason: String)] = []
        for name in names() {
            do {
                let stored = try self.open(name)
                let (status, history) = try self.status(of: stored)
                summaries.append(ExecutionSummary(name: name, status: status, stateMachine: stored.stateMachineName,
                                                  end: status == "RUNNING" ? nil : history.last?.details))
            } catch {
                unreadable.append((folder + "/" + name, "\(error)"))
            }
        }
        return (summaries, unreadable)
    }

    /// An execution's status, input and state machine, and once it ended its output (JSON
    /// when it parses) or its error and cause: what `slipway executions describe` shows.
    package func description(of stored: Stored) throws -> JSONValue {
        let (status, history) = try self.status(of: stored)
        var value: [String: JSONValue] = ["name": .string(stored.name), "status": .string(status), "input": stored.input,
                                          "stateMachine": .string(stored.stateMachineName)]
        if let last = history.last, status != "RUNNING" {
            if let output = last.details?["output"]?.stringValue { value["output"] = (try? JSONValue(parsing: output)) ?? .string(output) }
            if let error = last.details?["error"] { value["error"] = error }
            if let cause = last.details?["cause"] { value["cause"] = cause }
        }
        return .object(value)
    }
}

extension ExecutionOutcome {
    /// The outcome's JSON with the execution's name added: what `--json` prints when a
    /// command ran an execution to its end.
    package func json(execution name: String) -> JSONValue {
        guard case .object(var fields) = json else { return json }
        fields["execution"] = .string(name)
        return .object(fields)
    }
}
