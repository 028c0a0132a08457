import Foundation
import JSON

extension Interpreter {
    /// A Wait state's wait: `Seconds`, `SecondsPath`, `Timestamp` or `TimestampPath`; a
    /// resumed execution waits only what was left.
    func wait(_ fields: [String: JSONValue], input: JSONValue, context: JSONValue, key: String) async throws(StatesError) {
        var seconds: Double
        if let until = replay.waitDeadlines[key] {
            seconds = until - clock.now()  // resumed mid-wait: only what was left
        } else if let value = fields["Seconds"]?.doubleValue {
            seconds = value
        } else if let path = fields["SecondsPath"] {
            guard let value = try Processing.select(path, in: input, context: context, name: "SecondsPath").intValue, value >= 0 else {
                throw .runtime("SecondsPath '\(path.stringValue ?? "")' must select a non-negative integer")
            }
            seconds = Double(value)
        } else {
            var text = fields["Timestamp"]?.stringValue ?? ""
            if let path = fields["TimestampPath"] {
                text = try Processing.select(path, in: input, context: context, name: "TimestampPath").stringValue ?? ""
            }
            guard let when = Timestamps.parse(text) else { throw .runtime("'\(text)' is not an RFC 3339 timestamp") }
            seconds = when - clock.now()
        }
        if replay.waitDeadlines[key] == nil {
            history.note(["kind": "waitUntil", "key": .string(key), "until": .double(clock.now() + max(0, seconds))])
        }
        // In slices of at most a second on the real clock, so that a stop request is seen.
        var remaining = max(0, seconds)
        repeat {
            let slice = clock.isVirtual ? remaining : min(remaining, 1)
            do { try await clock.sleep(slice) } catch { throw StatesError("States.Runtime", "the wait was cancelled") }
            remaining -= slice
            if engine.stopRequested() { throw .aborted }
        } while remaining > 0
    }

    /// Runs `body`, failing with `States.Timeout` when `seconds` pass first (the body is
    /// cancelled; resources stop their work when cancelled).
    func withTimeout(_ seconds: Double?, error timeout: StatesError, _ body: @escaping @Sendable () async throws(StatesError) -> JSONValue) async throws(StatesError) -> JSONValue {
        guard let seconds else { return try await body() }
        let clock = self.clock
        if clock.isVirtual {
            let started = clock.now()
            let output = try await body()
            if clock.now() - started > seconds { throw timeout }
            return output
        }
        let result: Result<JSONValue, StatesError> = await withTaskGroup(of: Result<JSONValue, StatesError>?.self) { group in
            group.addTask {
                do throws(StatesError) { return .success(try await body()) } catch { return .failure(error) }
            }
            group.addTask {
                do { try await clock.sleep(seconds) } catch { return nil }  // cancelled: the body finished first
                return .failure(timeout)
            }
            let first = await group.next()!!
            group.cancelAll()
            return first
        }
        return try result.get()
    }
}
