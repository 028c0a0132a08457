import Foundation
import JSON
import Jobs
import StatesLanguage

/// What an execution's jobs printed, read from its history: the stored log of each
/// finished job, the live output of a running one. Keeps how far it has read, so that
/// calling `next` again (while the execution runs) returns only what is new.
package struct JobLogs {
    /// The Slipway home (running jobs write `HOME/jobs/EXECUTION-STAGE/output.log`).
    package let home: String
    /// The execution's name.
    package let execution: String
    /// Only the jobs of this state, when set.
    package let state: String?
    /// Bytes already returned, by the history id of the job's `TaskScheduled` event.
    private var offsets: [Int: UInt64] = [:]
    private var finished: Set<Int> = []

    package init(home: String, execution: String, state: String? = nil) {
        self.home = home
        self.execution = execution
        self.state = state
    }

    /// Whether anything has been shown yet.
    package var shownAny: Bool { !offsets.isEmpty || !finished.isEmpty }

    /// The text not yet returned: a `==> STATE` header when a job starts, its output as it
    /// grows, and a failed job's error and cause.
    package mutating func next(history: [HistoryEvent]) -> String {
        var text = ""
        var current = ""
        var running: (id: Int, stage: String)?
        for event in history {
            if event.type.hasSuffix("StateEntered"), let name = event.details?["name"]?.stringValue { current = name }
            guard state == nil || state == current else { continue }
            switch event.type {
            case "TaskScheduled" where event.details?["resource"] == "slipway:training.job":
                let parameters = event.details?["parameters"]?.stringValue.flatMap { try? JSONValue(parsing: $0) }
                running = (event.id, parameters?["Stage"]?.stringValue ?? "")
            case "TaskSucceeded":
                guard let job = running, !finished.contains(job.id) else { continue }
                running = nil
                finished.insert(job.id)
                guard let output = event.details?["output"]?.stringValue.flatMap({ try? JSONValue(parsing: $0) }), let log = output["log"]?.stringValue else { continue }
                if offsets[job.id] == nil {
                    let note = output["cache"]?.stringValue.map { $0 == "miss" ? "" : " (\($0))" } ?? ""
                    text += "==> \(current)\(note): \(log)\n"
                }
                text += read(log, from: offsets[job.id] ?? 0) ?? "(the log is gone)\n"
                offsets[job.id] = offsets[job.id] ?? 0
            case "TaskFailed":
                guard let job = running, !finished.contains(job.id) else { continue }
                running = nil
                finished.insert(job.id)
                if offsets[job.id] != nil, let rest = read(live(job.stage), from: offsets[job.id]!) { text += rest }
                text += "==> \(current) failed: \(event.details?["error"]?.stringValue ?? "")\n\(event.details?["cause"]?.stringValue ?? "")\n"
            default:
                continue
            }
        }
        // A job still running: what it has printed so far.
        if let job = running, !finished.contains(job.id) {
            let offset = offsets[job.id] ?? 0
            if offsets[job.id] == nil { text += "==> \(current): running, output so far:\n" }
            let new = read(live(job.stage), from: offset) ?? ""
            offsets[job.id] = offset + UInt64(new.utf8.count)
            text += new
        }
        return text
    }

    private func live(_ stage: String) -> String {
        home + "/jobs/" + JobID.of(execution: execution, stage: stage) + "/output.log"
    }

    /// The file's bytes from `offset`, or nil when it cannot be read.
    private func read(_ path: String, from offset: UInt64) -> String? {
        guard let handle = FileHandle(forReadingAtPath: path) else { return nil }
        defer { try? handle.close() }
        try? handle.seek(toOffset: offset)
        return String(decoding: handle.readDataToEndOfFile(), as: UTF8.self)
    }
}
