import Foundation
import Home
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

    /// Stores a new execution; fails when the name is taken. Nobody holds it: a running
    /// agent picks it up and runs it.
    package func create(name: String, definition: String, input: JSONValue, stateMachineName: String) throws -> Stored {
        try createHeld(name: name, definition: definition, input: input, stateMachineName: stateMachineName).0
    }

    /// Stores a new execution and returns it with its lock held, taken before the
    /// execution could be seen, so that no other process (an agent) starts running it.
    package func createHeld(name: String, definition: String, input: JSONValue, stateMachineName: String) throws -> (Stored, ExecutionLock) {
        guard !name.isEmpty, !name.contains("/"), !name.hasPrefix(".") else {
            throw StatesError("States.Runtime", "invalid execution name '\(name)': use letters, digits, '-' and '_'")
        }
        let machine = try parseMachine(definition)
        let path = folder + "/" + name
        // Made whole in a folder nobody lists, then renamed into place: a process killed
        // half way leaves a dot folder, never an execution that cannot be opened.
        let scratch = folder + "/." + name + ".new-\(getpid())"
        try? FileManager.default.removeItem(atPath: scratch)
        guard !FileManager.default.fileExists(atPath: path) else {
            throw StatesError("States.Runtime", "an execution named '\(name)' already exists; resume it, or choose another name")
        }
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
        guard let lock = Self.lockNow(scratch + "/lock") else {
            throw StatesError("States.Runtime", "cannot lock the new execution '\(name)' in \(folder)")
        }
        try Data(definition.utf8).write(to: URL(fileURLWithPath: scratch + "/definition.json"))
        let meta: JSONValue = ["name": .string(name), "stateMachine": .string(stateMachineName), "input": input]
        try Data(meta.serializedBytes(pretty: true)).write(to: URL(fileURLWithPath: scratch + "/execution.json"))
        // The lock stays held through the rename (it belongs to the open file).
        guard rename(scratch, path) == 0 else {
            let reason = String(cString: strerror(errno))
            try? FileManager.default.removeItem(atPath: scratch)
            throw StatesError("States.Runtime", "an execution named '\(name)' already exists (\(reason)); resume it, or choose another name")
        }
        return (Stored(name: name, machine: machine, input: input, journal: FileJournal(path: path + "/journal.jsonl"), stateMachineName: stateMachineName), lock)
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

    /// Asks a running execution to stop: it ends `ABORTED` before its next state (or
    /// within a second of a Wait). An execution no process runs any more is marked
    /// aborted in its journal at once. False when it had already ended.
    package func stop(_ stored: Stored) throws -> Bool {
        guard try status(of: stored).status == ExecutionStatus.running.rawValue else { return false }
        let path = folder + "/" + stored.name
        _ = FileManager.default.createFile(atPath: path + "/stop", contents: Data())
        guard let lock = Self.lockNow(path + "/lock") else { return true }  // its runner will see the request
        try withExtendedLifetime(lock) { try recordAbort(stored) }
        return true
    }

    /// Ends an execution that nothing runs `ABORTED` in its journal; one that has ended
    /// already is left as it is. The caller holds its lock (taken, or kept after its run
    /// was cancelled).
    package func recordAbort(_ stored: Stored) throws {
        guard try status(of: stored).status == ExecutionStatus.running.rawValue else { return }
        let events = Replay(try stored.journal.records()).events
        let event = HistoryEvent(id: events.count + 1, previousEventId: events.count, timestamp: Date().timeIntervalSince1970,
                                 type: "ExecutionAborted", detailsKey: "executionAbortedEventDetails",
                                 details: ["error": .string(StatesError.aborted.error), "cause": .string(StatesError.aborted.cause)])
        try stored.journal.append(["kind": "event", "at": .double(event.timestamp), "event": event.json])
    }

    /// Appends the end an execution reached that its journal could not record (a full
    /// disk), unless the journal ends it already. The caller holds its lock.
    package func recordEnd(_ stored: Stored, _ outcome: ExecutionOutcome) throws {
        let replay = Replay(try stored.journal.records())
        if let last = replay.events.last, Replay.terminalEvents.contains(last.type), !replay.redriven { return }
        let end = outcome.endEvent
        let event = HistoryEvent(id: replay.events.count + 1, previousEventId: replay.events.count, timestamp: Date().timeIntervalSince1970,
                                 type: end.type, detailsKey: end.detailsKey, details: end.details)
        try stored.journal.append(["kind": "event", "at": .double(event.timestamp), "event": event.json])
    }

    /// Marks a failed, timed-out or aborted execution to run again from the states that
    /// did not finish (`resume` then runs it); what succeeded is reused, not run again.
    package func redrive(_ stored: Stored) throws {
        let status = try status(of: stored).status
        guard ["FAILED", "TIMED_OUT", "ABORTED"].contains(status) else {
            throw StatesError("States.Runtime", "execution '\(stored.name)' is \(status); only failed, timed-out or aborted executions can be redriven")
        }
        try? FileManager.default.removeItem(atPath: folder + "/" + stored.name + "/stop")
        try stored.journal.append(["kind": "redrive", "at": .double(Date().timeIntervalSince1970)])
    }

    /// Whether a stop was asked for.
    package func stopRequested(_ name: String) -> Bool {
        FileManager.default.fileExists(atPath: folder + "/" + name + "/stop")
    }

    /// The lock a process holds while it runs the execution (released if it dies).
    package func lock(_ stored: Stored) -> ExecutionLock? {
        Self.lockNow(folder + "/" + stored.name + "/lock")
    }

    /// The history recorded so far, and the status it tells (`RUNNING` until it ends).
    package func status(of stored: Stored) throws -> (status: String, history: [HistoryEvent]) {
        let replay = Replay(try stored.journal.records())
        let events = replay.events
        guard let last = events.last else { return ("RUNNING", events) }
        // Redriven after it ended: it runs again (the agent claims it).
        guard Replay.terminalEvents.contains(last.type), !replay.redriven else { return ("RUNNING", events) }
        return (ExecutionOutcome(finishedWith: last, history: events).status, events)
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

/// The exclusive `flock` on `NAME/lock` that a process holds while it runs an execution
/// (the kernel releases it if the process dies).
package typealias ExecutionLock = FileLock

extension ExecutionStore {
    /// Takes an execution's lock file (created when missing) without waiting; nil when
    /// another process holds it or it cannot be opened.
    static func lockNow(_ path: String) -> ExecutionLock? {
        (try? FileLock.attempt(path: path, creating: true)) ?? nil
    }
}
