import Agent
import Foundation
import LogCapture
import Logging
import Pipelines
import Registry
import StatesLanguage
import Synchronization
import Testing

/// A service loop that keeps failing (a full disk, a failing device) backs off
/// exponentially up to 30 s and logs each error once, and once again when it clears; an
/// execution whose end the journal could not record is written once the disk has room.
@Suite struct FailureBackoffTests {
    @Test func aFailingLoopBacksOffExponentiallyAndLogsEachErrorOnceAndItsClearing() async {
        let clock = JumpingClock()
        let lines = LogLines()
        let attempts = Mutex(0)
        await FailureBackoff.loop("collecting pushes", clock: clock, logger: lines.logger) {
            let attempt = attempts.withLock { $0 += 1; return $0 }
            if attempt <= 8 { return "No space left on device" }
            if attempt <= 10 { return "Input/output error" }
            return nil
        } next: {
            throw CancellationError()  // the test ends at the first wait for a change
        }
        #expect(attempts.withLock { $0 } == 11)
        #expect(clock.sleeps == [0.5, 1, 2, 4, 8, 16, 30, 30, 30, 30].map { Duration.milliseconds(Int64($0 * 1000)) })
        let errors = lines.entries.filter { $0.level == .error }
        #expect(errors.map { $0.metadata["error.message"] } == ["No space left on device", "Input/output error"], "\(lines.all)")
        #expect(lines.entries.filter { $0.level == .notice && $0.message.contains("works again after 10 failed attempts") }.count == 1,
                "\(lines.all)")
        #expect(lines.entries.count == 3)
    }

    @Test func anHourOfTheSameErrorIsOneLogLineAndAboutTwoAttemptsAMinute() async {
        let clock = JumpingClock(limit: .seconds(3600))
        let lines = LogLines()
        let attempts = Mutex(0)
        await FailureBackoff.loop("scanning", clock: clock, logger: lines.logger) {
            attempts.withLock { $0 += 1 }
            return "No space left on device"
        } next: {}
        #expect(lines.entries.count == 1)
        #expect(attempts.withLock { $0 } <= 3600 / 30 + 8, "\(attempts.withLock { $0 }) attempts")
    }

    @Test func anExecutionEndTheJournalCouldNotWriteIsRecordedOnceTheDiskHasRoom() async throws {
        let root = NSTemporaryDirectory() + "slipway-backoff-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: root) }
        let lines = LogLines()
        let clock = JumpingClock()
        let service = ExecutionService(
            executions: PipelineExecutions(home: root, registry: try Registry(home: root), logger: lines.logger), limit: 1,
            changes: Changes(interval: .seconds(2), clock: clock, logger: lines.logger), logger: lines.logger)
        let attempts = Mutex(0)
        let written = await service.recordEnd(of: "training-full") {
            let attempt = attempts.withLock { $0 += 1; return $0 }
            if attempt <= 4 { throw JournalWriteError(path: root + "/executions/training-full/journal.jsonl", code: ENOSPC) }
        }
        #expect(written)
        #expect(attempts.withLock { $0 } == 5)
        #expect(clock.sleeps == [.milliseconds(500), .seconds(1), .seconds(2), .seconds(4)])
        #expect(lines.entries.filter { $0.level == .error && $0.metadata["error.message"]?.contains("No space left on device") == true }.count == 1,
                "\(lines.all)")
        #expect(lines.entries.filter { $0.level == .notice && $0.metadata["execution.id"] == "training-full" }.count == 1, "\(lines.all)")
    }

    @Test func theExecutionServiceBacksOffAndLogsOnceWhileItsFolderCannotBeRead() async throws {
        let root = NSTemporaryDirectory() + "slipway-scan-backoff-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: root) }
        let lines = LogLines()
        let clock = JumpingClock(limit: .seconds(600))
        let service = ExecutionService(
            executions: PipelineExecutions(home: root, registry: try Registry(home: root), logger: lines.logger), limit: 1,
            changes: Changes(interval: .seconds(2), clock: clock, logger: lines.logger), logger: lines.logger)
        let folder = service.executions.store.folder
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await service.run() }
            while clock.sleeps.count < 50 { await Task.yield() }  // a few scans went well
            // The folder becomes a file: every scan fails with ENOTDIR from now on.
            try FileManager.default.removeItem(atPath: folder)
            try Data().write(to: URL(fileURLWithPath: folder))
            while clock.elapsed <= clock.limit { await Task.yield() }  // the watch loop ran out of time
            group.cancelAll()
        }
        // Once per error: the scan may catch the folder gone before it became a file.
        let failures = lines.entries.filter { $0.message.contains("scanning the executions failed") }.compactMap { $0.metadata["error.message"] }
        #expect((1...2).contains(failures.count), "\(lines.all)")
        #expect(Set(failures).count == failures.count, "\(failures)")
        #expect(failures.last == "cannot list '\(folder)': Not a directory")
        let backOffs = clock.sleeps.filter { $0 >= .milliseconds(500) }  // the scan's own waits are 100 ms ticks
        #expect(Array(backOffs.prefix(7)) == [.milliseconds(500), .seconds(1), .seconds(2), .seconds(4), .seconds(8), .seconds(16), .seconds(30)],
                "\(backOffs)")
        #expect(backOffs.count <= 600 / 30 + 8, "\(backOffs.count) attempts in 10 minutes")
    }

    @Test func aStoredExecutionLeftRunningByAFullDiskEndsWithTheRecordedOutcome() throws {
        let root = NSTemporaryDirectory() + "slipway-record-end-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: root) }
        let store = ExecutionStore(folder: root)
        let stored = try store.create(name: "x", definition: #"{"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}"#,
                                      input: [:], stateMachineName: "m")
        #expect(try store.status(of: stored).status == "RUNNING")
        let outcome = ExecutionOutcome(status: "FAILED", output: nil, error: StatesError("Job.Failed", "disk full"), history: [])
        try store.recordEnd(stored, outcome)
        try store.recordEnd(stored, outcome)  // ended already: nothing more
        let (status, history) = try store.status(of: stored)
        #expect(status == "FAILED")
        #expect(history.map(\.type) == ["ExecutionFailed"])
    }
}

/// A clock that jumps instead of sleeping and remembers every sleep; past `limit` of
/// jumped time it throws `CancellationError`, which ends the loop under test.
final class JumpingClock: Clock, Sendable {
    struct Instant: InstantProtocol {
        var offset: Duration
        func advanced(by duration: Duration) -> Instant { Instant(offset: offset + duration) }
        func duration(to other: Instant) -> Duration { other.offset - offset }
        static func < (left: Instant, right: Instant) -> Bool { left.offset < right.offset }
    }
    private let state = Mutex<(now: Duration, sleeps: [Duration])>((.zero, []))
    let limit: Duration

    init(limit: Duration = .seconds(86_400)) { self.limit = limit }

    var now: Instant { Instant(offset: state.withLock { $0.now }) }
    var minimumResolution: Duration { .zero }
    /// The time jumped so far.
    var elapsed: Duration { state.withLock { $0.now } }
    /// Every sleep asked for, in order.
    var sleeps: [Duration] { state.withLock { $0.sleeps } }

    func sleep(until deadline: Instant, tolerance: Duration? = nil) async throws {
        let past = state.withLock { state -> Bool in
            state.sleeps.append(max(.zero, deadline.offset - state.now))
            state.now = max(state.now, deadline.offset)
            return state.now > limit
        }
        await Task.yield()
        if past { throw CancellationError() }
    }
}
