import Foundation
import JSON
import Synchronization

/// Where `.waitForTaskToken` tasks wait for their outcome, sent from outside with the
/// token (SendTaskSuccess, SendTaskFailure, SendTaskHeartbeat).
package protocol TaskTokens: Sendable {
    /// Waits until the token is completed or failed. With `heartbeat`, a token that gets
    /// no heartbeat (or outcome) for that many seconds fails with `States.HeartbeatTimeout`.
    func wait(for token: String, heartbeat: Double?, clock: any EngineClock) async throws(StatesError) -> JSONValue
}

/// Task tokens as files in a folder, so any process can complete them:
/// `TOKEN.outcome` holds `{"output": ...}` or `{"error": ..., "cause": ...}`, and
/// `TOKEN.heartbeat` is touched by each heartbeat.
package struct FileTaskTokens: TaskTokens {
    package let folder: String

    package init(folder: String) { self.folder = folder }

    package func wait(for token: String, heartbeat: Double?, clock: any EngineClock) async throws(StatesError) -> JSONValue {
        try? FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        var lastBeat = clock.now()
        while true {
            if let data = FileManager.default.contents(atPath: folder + "/" + token + ".outcome"), let outcome = try? JSONValue(parsing: data) {
                if let output = outcome["output"] { return output }
                throw StatesError(outcome["error"]?.stringValue ?? "States.TaskFailed", outcome["cause"]?.stringValue ?? "")
            }
            if let attributes = try? FileManager.default.attributesOfItem(atPath: folder + "/" + token + ".heartbeat"),
                let date = attributes[.modificationDate] as? Date {
                lastBeat = max(lastBeat, date.timeIntervalSince1970)
            }
            if let heartbeat, clock.now() - lastBeat > heartbeat {
                throw StatesError("States.HeartbeatTimeout", "no heartbeat for task token \(token) within \(Int(heartbeat)) s")
            }
            do { try await clock.sleep(0.1) } catch { throw StatesError("States.Runtime", "the wait for task token \(token) was cancelled") }
        }
    }

    /// Completes a token with an output (`slipway tasks succeed`).
    package func succeed(_ token: String, output: JSONValue) throws { try finish(token, ["output": output]) }

    /// Fails a token (`slipway tasks fail`).
    package func fail(_ token: String, error: String, cause: String) throws {
        try finish(token, ["error": .string(error), "cause": .string(cause)])
    }

    /// Records a heartbeat (`slipway tasks heartbeat`).
    package func heartbeat(_ token: String) throws {
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        try Data().write(to: URL(fileURLWithPath: folder + "/" + token + ".heartbeat"))
    }

    private func finish(_ token: String, _ outcome: JSONValue) throws {
        guard !token.isEmpty, !token.contains("/"), !token.hasPrefix(".") else {
            throw StatesError("States.Runtime", "invalid task token '\(token)'")
        }
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let path = folder + "/" + token + ".outcome"
        guard !FileManager.default.fileExists(atPath: path) else {
            throw StatesError("TaskTimedOut", "task token '\(token)' was already completed")
        }
        try Data(outcome.serializedBytes()).write(to: URL(fileURLWithPath: path), options: .atomic)
    }
}
