import Foundation
import JSON
import Synchronization

/// An error as the States Language names it: `States.TaskFailed`, a task's own error
/// name, ... with a human-readable cause. Task failures are data for Retry and Catch.
package struct StatesError: Error, Sendable, Equatable, CustomStringConvertible {
    package var error: String
    package var cause: String

    package init(_ error: String, _ cause: String) {
        self.error = error
        self.cause = cause
    }

    /// `States.Runtime`: a fault of the definition or its data at run time; it ends the
    /// execution and neither Retry nor Catch sees it (as in AWS Step Functions).
    package static func runtime(_ cause: String) -> StatesError { StatesError("States.Runtime", cause) }

    /// The execution was stopped (`slipway executions stop`); nothing catches it.
    package static let aborted = StatesError("States.Aborted", "the execution was stopped")

    /// The execution ran past its own TimeoutSeconds; nothing catches it.
    package static let executionTimedOut = StatesError("States.ExecutionTimedOut", "the execution ran longer than its TimeoutSeconds")

    /// The process running the execution is stopping (its task was cancelled): nothing
    /// more is recorded, and the execution stays RUNNING for the next process to resume.
    package static let interrupted = StatesError("Slipway.Interrupted", "the process running the execution stopped; it resumes where it was")

    package var isRuntime: Bool { error == "States.Runtime" || self == .aborted || self == .executionTimedOut || self == .interrupted }
    package var description: String { "\(error): \(cause)" }
    package var json: JSONValue { ["Error": .string(error), "Cause": .string(cause)] }
}

/// Time for the engine: injected, so tests of Wait, Retry back-off and timeouts run in
/// milliseconds.
package protocol EngineClock: Sendable {
    /// Seconds since 1970.
    func now() -> Double
    /// Waits `seconds`.
    func sleep(_ seconds: Double) async throws
    /// Whether time only moves when someone sleeps (a test clock): then timeouts are judged
    /// by the time that passed, not raced against the real clock.
    var isVirtual: Bool { get }
}

extension EngineClock {
    package var isVirtual: Bool { false }
}

/// The machine's clock.
package struct SystemClock: EngineClock {
    package init() {}
    package func now() -> Double { Date().timeIntervalSince1970 }
    package func sleep(_ seconds: Double) async throws {
        if seconds > 0 { try await Task.sleep(nanoseconds: UInt64(seconds * 1_000_000_000)) }
    }
}

/// A clock that jumps instead of waiting, and remembers every wait it was asked for.
package final class ManualClock: EngineClock {
    private let state = Mutex<(now: Double, waits: [Double])>((1_767_225_600, []))
    package init() {}
    package func now() -> Double { state.withLock { $0.now } }
    package func sleep(_ seconds: Double) async throws {
        state.withLock {
            $0.waits.append(seconds)
            $0.now += max(0, seconds)
        }
    }
    /// Every wait so far, in seconds.
    package var waits: [Double] { state.withLock { $0.waits } }
    package var isVirtual: Bool { true }
}

/// What a task resource receives.
package struct TaskRequest: Sendable {
    /// The resource URI, as written (`echo`, `arn:aws:states:::http:invoke`, ...).
    package var resource: String
    /// The effective parameters (after InputPath and Parameters).
    package var input: JSONValue
    /// The context object (`$$`).
    package var context: JSONValue
    /// The task token, for `.waitForTaskToken` resources.
    package var token: String

    /// A request to `resource` with `input` (a task resource's tests call it directly).
    package init(resource: String, input: JSONValue, context: JSONValue = [:], token: String = "") {
        self.resource = resource
        self.input = input
        self.context = context
        self.token = token
    }
}

/// Something a Task state can call, found by its resource URI.
package protocol TaskResource: Sendable {
    /// Runs the task; a failure is a `StatesError` (its name is what Retry and Catch match).
    func invoke(_ request: TaskRequest) async throws(StatesError) -> JSONValue
    /// The failure a task attempt becomes when the processes running it died
    /// `Engine.runnerDeathLimit` times before it ended; `cause` says so.
    func runnerDied(_ request: TaskRequest, cause: String) -> StatesError
}

extension TaskResource {
    /// `States.TaskFailed` with `cause`: Retry and Catch see it like any task failure.
    package func runnerDied(_ request: TaskRequest, cause: String) -> StatesError {
        StatesError("States.TaskFailed", cause)
    }
}

/// One event of an execution's history, named and shaped as in Step Functions'
/// GetExecutionHistory.
package struct HistoryEvent: Sendable, Equatable {
    package var id: Int
    package var previousEventId: Int
    package var timestamp: Double
    package var type: String
    /// The `...EventDetails` object (for example `stateEnteredEventDetails`).
    package var detailsKey: String?
    package var details: JSONValue?

    package var json: JSONValue {
        var object: [String: JSONValue] = [
            "id": .int(Int64(id)), "previousEventId": .int(Int64(previousEventId)), "type": .string(type),
            "timestamp": .string(ISO8601Timestamp.format(timestamp)),
        ]
        if let detailsKey, let details { object[detailsKey] = details }
        return .object(object)
    }
}

/// How timestamps print: RFC 3339 with milliseconds, UTC.
package enum ISO8601Timestamp {
    package static func format(_ seconds: Double) -> String {
        var whole = time_t(seconds.rounded(.down))
        let millis = Int(((seconds - Double(whole)) * 1000).rounded(.down))
        var parts = tm()
        gmtime_r(&whole, &parts)
        var bytes: [UInt8] = []
        bytes.reserveCapacity(24)
        func digits(_ value: Int, _ count: Int) {
            var divisor = 1
            for _ in 1..<count { divisor *= 10 }
            var rest = value
            while divisor > 0 {
                bytes.append(UInt8(ascii: "0") + UInt8(rest / divisor % 10))
                rest %= divisor
                divisor /= 10
            }
        }
        digits(Int(parts.tm_year) + 1900, 4); bytes.append(UInt8(ascii: "-"))
        digits(Int(parts.tm_mon) + 1, 2); bytes.append(UInt8(ascii: "-"))
        digits(Int(parts.tm_mday), 2); bytes.append(UInt8(ascii: "T"))
        digits(Int(parts.tm_hour), 2); bytes.append(UInt8(ascii: ":"))
        digits(Int(parts.tm_min), 2); bytes.append(UInt8(ascii: ":"))
        digits(Int(parts.tm_sec), 2); bytes.append(UInt8(ascii: "."))
        digits(millis, 3); bytes.append(UInt8(ascii: "Z"))
        return String(decoding: bytes, as: UTF8.self)
    }
}

/// The history of one execution, appended to by every branch of it, and written through
/// to the execution's journal.
package final class ExecutionHistory: Sendable {
    private let events: Mutex<[HistoryEvent]>
    let clock: any EngineClock
    /// Nil for an execution nobody will resume: nothing is written.
    let journal: (any ExecutionJournal)?
    private let writeError = Mutex<String?>(nil)

    init(clock: any EngineClock, journal: (any ExecutionJournal)?, resumed: [HistoryEvent] = []) {
        self.clock = clock
        self.journal = journal
        events = Mutex(resumed)
    }

    /// Appends an event after `previous` (default: the last event) and returns its id.
    /// Once the task running the execution is cancelled (its process is stopping),
    /// nothing more is written: the journal keeps the execution RUNNING, to be resumed.
    @discardableResult
    func record(_ type: String, _ detailsKey: String? = nil, _ details: JSONValue? = nil, after previous: Int? = nil) -> Int {
        if Task.isCancelled { return events.withLock { $0.count } }
        let event = events.withLock { events in
            let event = HistoryEvent(id: events.count + 1, previousEventId: previous ?? events.count, timestamp: clock.now(),
                                     type: type, detailsKey: detailsKey, details: details)
            events.append(event)
            return event
        }
        if journal != nil { note(["kind": "event", "at": .double(event.timestamp), "event": event.json]) }
        return event.id
    }

    /// Writes a progress record (a state's exit, a task's result) to the journal. A
    /// journal that cannot be written (a full disk) costs the ability to resume, not the
    /// run: the failure is kept in `lastWriteError` for the outcome.
    func note(_ record: JSONValue) {
        guard !Task.isCancelled, let journal else { return }
        do {
            try journal.append(record)
            writeError.withLock { $0 = nil }
        } catch {
            writeError.withLock { $0 = "\(error)" }
        }
    }

    /// Why the last journal write failed; nil when it succeeded.
    var lastWriteError: String? { writeError.withLock { $0 } }

    /// Every event so far.
    package var all: [HistoryEvent] { events.withLock { $0 } }
}

/// The status of an execution, as its history and the Step Functions API spell it.
package enum ExecutionStatus: String, Codable, Sendable, CaseIterable {
    case running = "RUNNING"
    case succeeded = "SUCCEEDED"
    case failed = "FAILED"
    case timedOut = "TIMED_OUT"
    case aborted = "ABORTED"
}

/// How an execution ended.
package struct ExecutionOutcome: Sendable {
    /// `SUCCEEDED`, `FAILED`, `TIMED_OUT` or `ABORTED`; `RUNNING` when the process was
    /// stopping (its task cancelled) before the execution ended.
    package var status: String
    package var output: JSONValue?
    package var error: StatesError?
    package var history: [HistoryEvent]
    /// Why the journal could not record this end (a full disk): it may still say RUNNING
    /// until `ExecutionStore.recordEnd` writes it. Nil when it was recorded.
    package var unrecorded: String?

    package init(status: String, output: JSONValue?, error: StatesError?, history: [HistoryEvent]) {
        self.status = status
        self.output = output
        self.error = error
        self.history = history
    }

    /// An execution whose process stopped before it ended: still RUNNING.
    static func interrupted(_ history: [HistoryEvent]) -> ExecutionOutcome {
        ExecutionOutcome(status: "RUNNING", output: nil, error: .interrupted, history: history)
    }

    /// The outcome a finished execution's last event tells.
    init(finishedWith end: HistoryEvent, history: [HistoryEvent]) {
        switch end.type {
        case "ExecutionSucceeded":
            let output = end.details?["output"]?.stringValue.flatMap { try? JSONValue(parsing: $0) }
            self.init(status: "SUCCEEDED", output: output, error: nil, history: history)
        default:
            let error = StatesError(end.details?["error"]?.stringValue ?? "", end.details?["cause"]?.stringValue ?? "")
            let status = (["ExecutionAborted": ExecutionStatus.aborted, "ExecutionTimedOut": .timedOut][end.type] ?? .failed).rawValue
            self.init(status: status, output: nil, error: error, history: history)
        }
    }

    /// The history event that records this end: its type, details key and details.
    package var endEvent: (type: String, detailsKey: String, details: JSONValue) {
        let failure: JSONValue = ["error": .string(error?.error ?? ""), "cause": .string(error?.cause ?? "")]
        switch status {
        case ExecutionStatus.succeeded.rawValue:
            return ("ExecutionSucceeded", "executionSucceededEventDetails", ["output": .string((output ?? .null).serialized())])
        case ExecutionStatus.timedOut.rawValue: return ("ExecutionTimedOut", "executionTimedOutEventDetails", failure)
        case ExecutionStatus.aborted.rawValue: return ("ExecutionAborted", "executionAbortedEventDetails", failure)
        default: return ("ExecutionFailed", "executionFailedEventDetails", failure)
        }
    }

    /// The shape `slipway states run --json` prints.
    package var json: JSONValue {
        var object: [String: JSONValue] = ["status": .string(status), "history": .array(history.map(\.json))]
        object["output"] = output ?? .null
        if let error {
            object["error"] = .string(error.error)
            object["cause"] = .string(error.cause)
        }
        return .object(object)
    }
}
