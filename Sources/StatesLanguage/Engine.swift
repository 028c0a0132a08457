import Foundation
import JSON

/// Runs validated state machines: every state type, input and output processing, the
/// context object, Retry with back-off and Catch, and a Step Functions history.
///
/// Task states call the `TaskResource` registered for their `Resource` URI. The clock is
/// injected, so Wait and Retry back-off cost nothing in tests.
package struct Engine: Sendable {
    /// How many times the process running a task attempt may die (a crash, `kill -9`, a
    /// power cut) before the resumed execution fails the attempt instead of running it
    /// again: after the first and the second death the attempt runs again; at the third it
    /// fails with the resource's `runnerDied` error (`States.TaskFailed` by default),
    /// which the state's Retry and Catch see. A process that stops cleanly (SIGTERM)
    /// releases its attempts, which then do not count.
    package static let runnerDeathLimit = 3

    package var resources: [String: any TaskResource]
    package var clock: any EngineClock
    /// Asked before every state and during waits: true stops the execution (`ABORTED`).
    package var stopRequested: @Sendable () -> Bool
    /// Where `.waitForTaskToken` tasks wait for their outcome.
    package var tokens: any TaskTokens

    package init(resources: [String: any TaskResource] = [:], clock: any EngineClock = SystemClock(),
                 tokens: any TaskTokens = FileTaskTokens(folder: NSTemporaryDirectory() + "slipway-task-tokens"),
                 stopRequested: @escaping @Sendable () -> Bool = { false }) {
        self.resources = resources
        self.clock = clock
        self.tokens = tokens
        self.stopRequested = stopRequested
    }

    /// Runs `machine` on `input` to the end. With a `journal` that already holds records
    /// (the process running it died), the execution resumes: states whose exit was
    /// recorded are not run again, and no Task whose success was recorded is called again.
    package func run(_ machine: StateMachine, input: JSONValue, name: String = UUID().uuidString.lowercased(),
                     stateMachineName: String = "machine", journal: (any ExecutionJournal)? = nil) async -> ExecutionOutcome {
        let replay = Replay((try? journal?.records()) ?? [])
        let history = ExecutionHistory(clock: clock, journal: journal, resumed: replay.events)
        if let end = replay.events.last, Replay.terminalEvents.contains(end.type) {
            guard replay.redriven, end.type != "ExecutionSucceeded" else { return ExecutionOutcome(finishedWith: end, history: replay.events) }
            // Redrive: run again from the states that did not finish; what succeeded is reused.
            history.record("ExecutionRedriven", "executionRedrivenEventDetails", ["redriveCount": .int(Int64(replay.redrives))])
        }
        let start = replay.events.first?.timestamp ?? clock.now()
        let execution: JSONValue = [
            "Id": .string("slipway:execution:\(stateMachineName):\(name)"), "Name": .string(name),
            "StartTime": .string(ISO8601Timestamp.format(start)), "Input": input,
        ]
        let context: JSONValue = ["Execution": execution, "StateMachine": ["Id": .string("slipway:stateMachine:\(stateMachineName)"), "Name": .string(stateMachineName)]]
        if replay.events.isEmpty {
            history.record("ExecutionStarted", "executionStartedEventDetails", ["input": .string(input.serialized())], after: 0)
        }
        let interpreter = Interpreter(engine: self, history: history, replay: replay)
        /// An ended execution, with why its journal could not record the end (a full disk).
        func ended(_ outcome: ExecutionOutcome) -> ExecutionOutcome {
            var outcome = outcome
            if journal != nil { outcome.unrecorded = history.lastWriteError }
            return outcome
        }
        /// An execution whose process is stopping: its journal says so, so that the next
        /// process runs its task attempts again without counting them as runner deaths.
        func interrupted() -> ExecutionOutcome {
            try? journal?.append(["kind": "released", "at": .double(clock.now()), "pid": .int(Int64(getpid()))])
            return .interrupted(history.all)
        }
        do {
            let limit = machine.timeoutSeconds.map { max(0, Double($0) - (clock.now() - start)) }
            let output = try await interpreter.withTimeout(limit, error: .executionTimedOut) {
                () async throws(StatesError) -> JSONValue in try await interpreter.run(machine, input: input, context: context, scope: "")
            }
            if Task.isCancelled { return interrupted() }
            history.record("ExecutionSucceeded", "executionSucceededEventDetails", ["output": .string(output.serialized())])
            return ended(ExecutionOutcome(status: "SUCCEEDED", output: output, error: nil, history: history.all))
        } catch where Task.isCancelled || error == .interrupted {
            return interrupted()
        } catch where error == .executionTimedOut {
            history.record("ExecutionTimedOut", "executionTimedOutEventDetails", ["error": "States.Timeout", "cause": .string(error.cause)])
            return ended(ExecutionOutcome(status: "TIMED_OUT", output: nil, error: StatesError("States.Timeout", error.cause), history: history.all))
        } catch where error == .aborted {
            history.record("ExecutionAborted", "executionAbortedEventDetails", ["error": .string(error.error), "cause": .string(error.cause)])
            return ended(ExecutionOutcome(status: "ABORTED", output: nil, error: error, history: history.all))
        } catch {
            history.record("ExecutionFailed", "executionFailedEventDetails", ["error": .string(error.error), "cause": .string(error.cause)])
            return ended(ExecutionOutcome(status: "FAILED", output: nil, error: error, history: history.all))
        }
    }
}

/// One execution's walk through its states.
struct Interpreter: Sendable {
    let engine: Engine
    let history: ExecutionHistory
    let replay: Replay

    var clock: any EngineClock { engine.clock }

    /// Runs a machine; `scope` names where it runs (`""` for the execution, then
    /// `/State#1/branch0`, `/State#1/item3`...), so every state visit has a stable key
    /// that the journal records outcomes under.
    func run(_ machine: StateMachine, input: JSONValue, context: JSONValue, scope: String) async throws(StatesError) -> JSONValue {
        var name = machine.startAt
        var data = input
        var visits: [String: Int] = [:]
        while true {
            guard let state = machine.states[name] else { throw .runtime("no state named '\(name)'") }
            if Task.isCancelled { throw .interrupted }
            if engine.stopRequested() { throw .aborted }
            visits[name, default: 0] += 1
            let key = "\(scope)/\(name)#\(visits[name]!)"
            if let (output, next) = replay.exits[key] {
                guard let next else { return output }  // finished before the restart
                name = next
                data = output
                continue
            }
            let entered = clock.now()
            var stateContext = context
            if case .object(var members) = stateContext {
                members["State"] = ["Name": .string(name), "EnteredTime": .string(ISO8601Timestamp.format(entered)), "RetryCount": 0]
                stateContext = .object(members)
            }
            let type = state.type.rawValue
            history.record("\(type)StateEntered", "stateEnteredEventDetails", ["name": .string(name), "input": .string(data.serialized())])
            let (output, next) = try await step(state, input: data, context: stateContext, key: key)
            if state.type != .fail {
                history.record("\(type)StateExited", "stateExitedEventDetails", ["name": .string(name), "output": .string(output.serialized())])
            }
            history.note(["kind": "exit", "key": .string(key), "output": output, "next": next.map(JSONValue.string) ?? .null])
            guard let next else { return output }
            name = next
            data = output
        }
    }

    /// Runs one state; returns its output and the next state's name (nil: the machine ends).
    func step(_ state: StateMachine.State, input: JSONValue, context: JSONValue, key: String) async throws(StatesError) -> (JSONValue, String?) {
        let fields = state.fields
        let next = fields["Next"]?.stringValue
        switch state.type {
        case .pass:
            let effective = try Processing.select(fields["InputPath"], in: input, context: context, name: "InputPath")
            var result = effective
            if let fixed = fields["Result"] {
                result = fixed
            } else if let parameters = fields["Parameters"] {
                result = try Processing.template(parameters, input: effective, context: context, field: "Parameters")
            }
            let placed = try Processing.place(result, at: fields["ResultPath"], in: input)
            return (try Processing.select(fields["OutputPath"], in: placed, context: context, name: "OutputPath"), next)
        case .succeed:
            let effective = try Processing.select(fields["InputPath"], in: input, context: context, name: "InputPath")
            return (try Processing.select(fields["OutputPath"], in: effective, context: context, name: "OutputPath"), nil)
        case .fail:
            var error = fields["Error"]?.stringValue ?? "States.Fail"
            var cause = fields["Cause"]?.stringValue ?? ""
            if let path = fields["ErrorPath"] { error = try Processing.string(path, in: input, context: context, name: "ErrorPath") }
            if let path = fields["CausePath"] { cause = try Processing.string(path, in: input, context: context, name: "CausePath") }
            throw StatesError(error, cause)
        case .choice:
            let effective = try Processing.select(fields["InputPath"], in: input, context: context, name: "InputPath")
            var target = fields["Default"]?.stringValue
            for rule in fields["Choices"]?.arrayValue ?? [] where try ChoiceEvaluator.matches(rule, input: effective, context: context) {
                target = rule["Next"]?.stringValue
                break
            }
            guard let target else {
                throw StatesError("States.NoChoiceMatched", "No Matches! (state '\(state.name)')")
            }
            return (try Processing.select(fields["OutputPath"], in: effective, context: context, name: "OutputPath"), target)
        case .wait:
            let effective = try Processing.select(fields["InputPath"], in: input, context: context, name: "InputPath")
            if !replay.waitsDone.contains(key) {
                try await wait(fields, input: effective, context: context, key: key)
                history.note(["kind": "waited", "key": .string(key)])
            }
            return (try Processing.select(fields["OutputPath"], in: effective, context: context, name: "OutputPath"), next)
        case .task, .parallel, .map:
            do {
                let output = try await withRetries(state, input: input, context: context, key: key)
                return (output, next)
            } catch {
                guard !error.isRuntime, let (catcher, _) = Self.handler(for: error, in: fields["Catch"]) else { throw error }
                let output = try Processing.place(error.json, at: catcher["ResultPath"], in: input)
                return (output, catcher["Next"]?.stringValue)
            }
        }
    }

    /// The first Retry or Catch entry whose ErrorEquals names the error. `States.ALL`
    /// matches every error but `States.Runtime`; `States.Timeout` also matches heartbeat
    /// timeouts; `States.TaskFailed` matches every error but timeouts (as AWS documents it).
    static func handler(for error: StatesError, in list: JSONValue?) -> ([String: JSONValue], Int)? {
        for (index, entry) in (list?.arrayValue ?? []).enumerated() {
            guard case .object(let fields) = entry else { continue }
            let names = fields["ErrorEquals"]?.arrayValue?.compactMap(\.stringValue) ?? []
            let isTimeout = error.error == "States.Timeout" || error.error == "States.HeartbeatTimeout"
            if names.contains(error.error) || (names.contains("States.ALL") && !error.isRuntime)
                || (names.contains("States.Timeout") && isTimeout)
                || (names.contains("States.TaskFailed") && !error.isRuntime && !isTimeout) {
                return (fields, index)
            }
        }
        return nil
    }

    /// Runs a Task, Parallel or Map state, retrying as its Retry says.
    func withRetries(_ state: StateMachine.State, input: JSONValue, context: JSONValue, key: String) async throws(StatesError) -> JSONValue {
        // A resumed execution carries on counting where it was.
        var attempts: [Int: Int] = replay.retries[key]?.attempts ?? [:]
        var retryCount = replay.retries[key]?.retryCount ?? 0
        while true {
            var attemptContext = context
            if case .object(var members) = context, case .object(var stateObject)? = members["State"] {
                stateObject["RetryCount"] = .int(Int64(retryCount))
                members["State"] = .object(stateObject)
                attemptContext = .object(members)
            }
            do {
                return try await attempt(state, input: input, context: attemptContext, key: "\(key)@\(retryCount)")
            } catch {
                guard !error.isRuntime, let (retrier, index) = Self.handler(for: error, in: state.fields["Retry"]) else { throw error }
                let maxAttempts = Int(retrier["MaxAttempts"]?.intValue ?? 3)
                let done = attempts[index, default: 0]
                guard done < maxAttempts else { throw error }
                attempts[index] = done + 1
                let interval = retrier["IntervalSeconds"]?.doubleValue ?? 1
                let rate = retrier["BackoffRate"]?.doubleValue ?? 2
                var delay = interval * pow(rate, Double(done))
                if let cap = retrier["MaxDelaySeconds"]?.doubleValue { delay = min(delay, cap) }
                if retrier["JitterStrategy"] == "FULL" { delay = Double.random(in: 0...delay) }
                do { try await clock.sleep(delay) } catch { throw StatesError("States.Runtime", "the retry wait was cancelled") }
                if engine.stopRequested() { throw .aborted }
                retryCount += 1
                history.note(["kind": "retry", "key": .string(key), "retryCount": .int(Int64(retryCount)),
                              "attempts": .object(Dictionary(uniqueKeysWithValues: attempts.map { ("\($0.key)", JSONValue.int(Int64($0.value))) }))])
            }
        }
    }

    /// One attempt of a Task, Parallel or Map state, with its input and output processing.
    func attempt(_ state: StateMachine.State, input: JSONValue, context: JSONValue, key: String) async throws(StatesError) -> JSONValue {
        let fields = state.fields
        let effective = try Processing.select(fields["InputPath"], in: input, context: context, name: "InputPath")
        let result: JSONValue
        switch state.type {
        case .task:
            // Stable for this task attempt, so a resumed execution waits on the same token.
            let token = Self.token(execution: context["Execution"]?["Id"]?.stringValue ?? "", key: "\(replay.redrives)/\(key)")
            var taskContext = context
            if case .object(var members) = context {
                members["Task"] = ["Token": .string(token)]
                taskContext = .object(members)
            }
            let parameters = try fields["Parameters"].map { t throws(StatesError) in
                try Processing.template(t, input: effective, context: taskContext, field: "Parameters")
            } ?? effective
            result = try await task(state, parameters: parameters, context: taskContext, token: token, key: key)
        case .parallel:
            let parameters = try fields["Parameters"].map { t throws(StatesError) in
                try Processing.template(t, input: effective, context: context, field: "Parameters")
            } ?? effective
            result = try await parallel(state, input: parameters, context: context, key: key)
        default:
            result = try await map(state, input: effective, context: context, key: key)
        }
        let selected = try fields["ResultSelector"].map { t throws(StatesError) in
            try Processing.template(t, input: result, context: context, field: "ResultSelector")
        } ?? result
        let placed = try Processing.place(selected, at: fields["ResultPath"], in: input)
        return try Processing.select(fields["OutputPath"], in: placed, context: context, name: "OutputPath")
    }

    func task(_ state: StateMachine.State, parameters: JSONValue, context: JSONValue, token: String, key attemptKey: String) async throws(StatesError) -> JSONValue {
        // One success per state visit, whichever attempt had it: never call it twice.
        let key = String(attemptKey[..<(attemptKey.lastIndex(of: "@") ?? attemptKey.endIndex)])
        if let recorded = replay.taskResults[key] { return recorded }
        let uri = state.fields["Resource"]?.stringValue ?? ""
        history.record("TaskScheduled", "taskScheduledEventDetails", [
            "resource": .string(uri), "resourceType": "slipway", "region": "local", "parameters": .string(parameters.serialized()),
        ])
        guard let resource = engine.resources[uri] ?? engine.resources[Self.baseURI(uri)] else {
            let error = StatesError("States.TaskFailed", "no task resource registered for '\(uri)'; known: \(engine.resources.keys.sorted().joined(separator: ", "))")
            history.record("TaskFailed", "taskFailedEventDetails", ["resource": .string(uri), "error": .string(error.error), "cause": .string(error.cause)])
            throw error
        }
        history.record("TaskStarted", "taskStartedEventDetails", ["resource": .string(uri), "resourceType": "slipway"])
        let timeout = try seconds(state.fields, "TimeoutSeconds", input: parameters, context: context)
        let request = TaskRequest(resource: uri, input: parameters, context: context, token: token)
        if let died = replay.deaths[attemptKey], died.count >= Engine.runnerDeathLimit {
            // The process running this attempt died each time it ran it (a crash, a kill):
            // a task failure that Retry and Catch see, never a loop of restarts.
            let error = resource.runnerDied(request, cause: """
                the process running this task died \(died.count) times before the task ended (the last one was pid \(died.pid)); \
                it is not run again. Look in the agent's log (journalctl -u slipway-agent) for why it stopped
                """)
            history.record("TaskFailed", "taskFailedEventDetails", ["resource": .string(uri), "error": .string(error.error), "cause": .string(error.cause)])
            history.note(["kind": "ended", "key": .string(attemptKey)])
            throw error
        }
        // Until its end is noted, the attempt counts as one its process died in.
        history.note(["kind": "started", "key": .string(attemptKey), "pid": .int(Int64(getpid()))])
        do {
            let waitsForToken = uri.hasSuffix(".waitForTaskToken")
            let heartbeat = try seconds(state.fields, "HeartbeatSeconds", input: parameters, context: context)
            let (tokens, clock) = (engine.tokens, engine.clock)
            let output = try await withTimeout(timeout, error: StatesError("States.Timeout", "the task did not finish within \(timeout.map { "\(Int($0))" } ?? "?") s")) {
                () async throws(StatesError) -> JSONValue in
                let immediate = try await resource.invoke(request)
                guard waitsForToken else { return immediate }
                return try await tokens.wait(for: token, heartbeat: heartbeat, clock: clock)
            }
            history.record("TaskSucceeded", "taskSucceededEventDetails", ["resource": .string(uri), "output": .string(output.serialized())])
            history.note(["kind": "task", "key": .string(key), "output": output])
            return output
        } catch {
            if Task.isCancelled { throw .interrupted }
            history.note(["kind": "ended", "key": .string(attemptKey)])
            let type = error.error == "States.Timeout" || error.error == "States.HeartbeatTimeout" ? "TaskTimedOut" : "TaskFailed"
            history.record(type, type == "TaskTimedOut" ? "taskTimedOutEventDetails" : "taskFailedEventDetails",
                           ["resource": .string(uri), "error": .string(error.error), "cause": .string(error.cause)])
            throw error
        }
    }

    /// The task token of a task attempt: the SHA-256 of the execution and the attempt's key.
    static func token(execution: String, key: String) -> String {
        Intrinsic.hexSHA256(execution + "\u{0}" + key)
    }

    /// A `...Seconds` field or its `...SecondsPath` form (a positive integer).
    func seconds(_ fields: [String: JSONValue], _ name: String, input: JSONValue, context: JSONValue) throws(StatesError) -> Double? {
        if let value = fields[name]?.doubleValue { return value }
        guard let path = fields[name + "Path"] else { return nil }
        guard let value = try Processing.select(path, in: input, context: context, name: name + "Path").intValue, value > 0 else {
            throw .runtime("\(name)Path '\(path.stringValue ?? "")' must select a positive integer")
        }
        return Double(value)
    }

    /// `arn:...:foo.sync` and `...waitForTaskToken` find the resource registered for `arn:...:foo`.
    static func baseURI(_ uri: String) -> String {
        for suffix in [".sync:2", ".sync", ".waitForTaskToken"] where uri.hasSuffix(suffix) { return String(uri.dropLast(suffix.count)) }
        return uri
    }
}
