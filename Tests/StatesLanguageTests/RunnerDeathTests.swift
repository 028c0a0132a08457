import Foundation
import JSON
import Synchronization
import Testing
@testable import StatesLanguage

/// A task attempt whose process died (a crash, `kill -9`) runs again when the execution
/// resumes, twice at most; the third death fails it for Retry and Catch, so an execution
/// whose task crashes its runner every time ends instead of looping across restarts. A
/// process that stops cleanly releases its attempts, which do not count.
@Suite struct RunnerDeathTests {
    static let machine = try! StateMachine(json: """
        {"StartAt": "T", "States": {
          "T": {"Type": "Task", "Resource": "count", "ResultPath": "$.t", "Next": "Done",
                "Catch": [{"ErrorEquals": ["States.TaskFailed"], "ResultPath": "$.error", "Next": "Caught"}]},
          "Done": {"Type": "Pass", "End": true},
          "Caught": {"Type": "Pass", "End": true}}}
        """)

    /// The journal of a run whose process died just after starting the task's attempt,
    /// and that record, to add more deaths.
    func journalDiedInTheTask() async throws -> (records: [JSONValue], started: JSONValue) {
        let journal = MemoryJournal()
        _ = await Engine(resources: ["count": Flaky(failures: 0)], clock: ManualClock()).run(Self.machine, input: [:], name: "d", journal: journal)
        let records = try journal.records()
        let started = try #require(records.firstIndex { $0["kind"] == "started" })
        return (Array(records[...started]), records[started])
    }

    func resume(_ records: [JSONValue], _ resource: Flaky) async -> ExecutionOutcome {
        await Engine(resources: ["count": resource], clock: ManualClock()).run(Self.machine, input: [:], name: "d", journal: MemoryJournal(records))
    }

    @Test func anAttemptWhoseProcessDiedOnceRunsAgainOnResume() async throws {
        let (records, _) = try await journalDiedInTheTask()
        let again = Flaky(failures: 0)
        let outcome = await resume(records, again)
        #expect(outcome.status == "SUCCEEDED")
        #expect(outcome.output?["t"]?["ok"] == true)
        #expect(again.calls.withLock { $0 } == 1)
    }

    @Test func anAttemptWhoseProcessDiedThreeTimesFailsForCatchWithoutRunning() async throws {
        let (records, started) = try await journalDiedInTheTask()
        let never = Flaky(failures: 0)
        // It ran, died; resumed, ran, died; resumed, ran, died.
        let outcome = await resume(records + [started, started], never)
        #expect(never.calls.withLock { $0 } == 0)
        #expect(outcome.status == "SUCCEEDED", "the Catch took it to Caught")
        #expect(outcome.output?["error"]?["Error"] == "States.TaskFailed")
        #expect(outcome.output?["error"]?["Cause"]?.stringValue?.contains("died 3 times") == true, "\(outcome.output ?? .null)")
        #expect(outcome.history.contains { $0.type == "TaskFailed" })
    }

    @Test func withoutACatchTheExecutionFailsWithTheResourcesError() async throws {
        let machine = try StateMachine(json: #"{"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "job", "End": true}}}"#)
        let journal = MemoryJournal()
        _ = await Engine(resources: ["job": JobLike()], clock: ManualClock()).run(machine, input: [:], name: "j", journal: journal)
        let records = try journal.records()
        let started = try #require(records.firstIndex { $0["kind"] == "started" })
        let died = Array(records[...started]) + [records[started], records[started]]
        let outcome = await Engine(resources: ["job": JobLike()], clock: ManualClock()).run(machine, input: [:], name: "j", journal: MemoryJournal(died))
        #expect(outcome.status == "FAILED")
        #expect(outcome.error?.error == "Job.Failed")
    }

    @Test func aCleanStopReleasesTheAttemptSoItIsNotCountedAsADeath() async throws {
        let (records, started) = try await journalDiedInTheTask()
        let released: JSONValue = ["kind": "released", "at": 0, "pid": 1]
        let again = Flaky(failures: 0)
        let outcome = await resume(records + [released, started, released, started, released], again)
        #expect(outcome.status == "SUCCEEDED")
        #expect(outcome.output?["t"]?["ok"] == true)
        #expect(again.calls.withLock { $0 } == 1)
    }

    @Test func anInterruptedExecutionWritesThatItsProcessReleasedIt() async throws {
        let journal = MemoryJournal()
        let machine = try StateMachine(json: #"{"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "block", "End": true}}}"#)
        let outcome = await withTaskGroup(of: ExecutionOutcome?.self) { group in
            group.addTask { await Engine(resources: ["block": Blocking()]).run(machine, input: [:], name: "b", journal: journal) }
            group.addTask {
                while (try? journal.records().contains { $0["kind"] == "started" }) != true { await Task.yield() }
                return nil
            }
            _ = await group.next()  // the attempt started
            group.cancelAll()
            return await group.next() ?? nil
        }
        #expect(outcome?.status == "RUNNING")
        #expect(try journal.records().last?["kind"] == "released")
    }

    @Test func anEndTheJournalCouldNotWriteIsReportedAndCanBeRecordedLater() async throws {
        let journal = FailingJournal()
        let machine = try StateMachine(json: #"{"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "Disk.Full"}}}"#)
        journal.failing.withLock { $0 = true }
        let outcome = await Engine(clock: ManualClock()).run(machine, input: [:], name: "f", journal: journal)
        #expect(outcome.status == "FAILED")
        #expect(outcome.unrecorded?.contains("No space left on device") == true, "\(outcome.unrecorded ?? "nil")")
        #expect(try journal.records().isEmpty)
        #expect(outcome.endEvent.type == "ExecutionFailed")
        #expect(outcome.endEvent.details["error"] == "Disk.Full")
    }
}

/// A task that waits until it is cancelled.
struct Blocking: TaskResource {
    func invoke(_ request: TaskRequest) async throws(StatesError) -> JSONValue {
        while !Task.isCancelled { await Task.yield() }
        throw .interrupted
    }
}

/// A resource that names its own failure when its runner died, as Slipway's jobs do.
struct JobLike: TaskResource {
    func invoke(_ request: TaskRequest) async throws(StatesError) -> JSONValue { "done" }
    func runnerDied(_ request: TaskRequest, cause: String) -> StatesError { StatesError("Job.Failed", cause) }
}

/// A journal whose appends fail with ENOSPC while `failing` is set.
final class FailingJournal: ExecutionJournal {
    let failing = Mutex(false)
    private let stored = Mutex<[JSONValue]>([])
    func records() throws -> [JSONValue] { stored.withLock { $0 } }
    func append(_ record: JSONValue) throws {
        if failing.withLock({ $0 }) { throw JournalWriteError(path: "/full/journal.jsonl", code: ENOSPC) }
        stored.withLock { $0.append(record) }
    }
}
