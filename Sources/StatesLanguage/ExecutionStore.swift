import Foundation
import JSON

/// Executions kept on disk, one folder each (`HOME/executions/NAME/`): the definition,
/// the input, and the journal the engine writes as it goes. A process that dies leaves a
/// journal that `resume` finishes.
package struct ExecutionStore: Sendable {
    package let folder: String

    package init(folder: String) { self.folder = folder }

    /// A stored execution.
    package struct Stored: Sendable {
        package var name: String
        package var machine: StateMachine
        package var input: JSONValue
        package var journal: FileJournal
        package var stateMachineName: String
    }

    /// Stores a new execution; fails when the name is taken.
    package func create(name: String, definition: String, input: JSONValue, stateMachineName: String) throws -> Stored {
        guard !name.isEmpty, !name.contains("/"), !name.hasPrefix(".") else {
            throw StatesError("States.Runtime", "invalid execution name '\(name)': use letters, digits, '-' and '_'")
        }
        let machine = try parseMachine(definition)
        let path = folder + "/" + name
        do {
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false)
        } catch {
            throw StatesError("States.Runtime", "an execution named '\(name)' already exists; resume it, or choose another name")
        }
        try Data(definition.utf8).write(to: URL(fileURLWithPath: path + "/definition.json"))
        let meta: JSONValue = ["name": .string(name), "stateMachine": .string(stateMachineName), "input": input]
        try Data(meta.serializedBytes(pretty: true)).write(to: URL(fileURLWithPath: path + "/execution.json"), options: .atomic)
        return Stored(name: name, machine: machine, input: input, journal: FileJournal(path: path + "/journal.jsonl"), stateMachineName: stateMachineName)
    }

    /// Opens a stored execution.
    package func open(_ name: String) throws -> Stored {
        let path = folder + "/" + name
        guard let definition = try? String(contentsOfFile: path + "/definition.json", encoding: .utf8),
            let metaData = FileManager.default.contents(atPath: path + "/execution.json"),
            let meta = try? JSONValue(parsing: metaData)
        else {
            throw StatesError("States.Runtime", "no execution named '\(name)'; see `slipway executions list`")
        }
        return Stored(name: name, machine: try parseMachine(definition), input: meta["input"] ?? [:],
                      journal: FileJournal(path: path + "/journal.jsonl"), stateMachineName: meta["stateMachine"]?.stringValue ?? "machine")
    }

    /// Every stored execution's name, oldest first.
    package func names() -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []
        return names.filter { !$0.hasPrefix(".") }.sorted { a, b in
            let ta = (try? FileManager.default.attributesOfItem(atPath: folder + "/" + a)[.creationDate] as? Date) ?? nil
            let tb = (try? FileManager.default.attributesOfItem(atPath: folder + "/" + b)[.creationDate] as? Date) ?? nil
            return (ta ?? .distantPast, a) < (tb ?? .distantPast, b)
        }
    }

    /// The history recorded so far, and the status it tells (`RUNNING` until it ends).
    package func status(of stored: Stored) throws -> (status: String, history: [HistoryEvent]) {
        let events = Replay(try stored.journal.records()).events
        guard let last = events.last else { return ("RUNNING", events) }
        switch last.type {
        case "ExecutionSucceeded", "ExecutionFailed", "ExecutionAborted":
            return (ExecutionOutcome(finishedWith: last, history: events).status, events)
        default:
            return ("RUNNING", events)
        }
    }
}

/// Parses a definition, turning its problems into a `States.Runtime` error.
private func parseMachine(_ text: String) throws(StatesError) -> StateMachine {
    do {
        return try StateMachine(json: text)
    } catch {
        throw StatesError("States.Runtime", error.description)
    }
}
