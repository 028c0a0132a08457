import Foundation
import JSON
import Synchronization
import Testing
@testable import StatesLanguage

@Suite struct ResumeTests {
    @Test func aResumedExecutionSkipsWhatItsJournalRecorded() async throws {
        let machine = try StateMachine(json: """
            {"StartAt": "A", "States": {
              "A": {"Type": "Task", "Resource": "count", "ResultPath": "$.a", "Next": "B"},
              "B": {"Type": "Map", "ItemsPath": "$.items", "ResultPath": "$.b", "Next": "C",
                    "ItemProcessor": {"StartAt": "I", "States": {"I": {"Type": "Task", "Resource": "count", "End": true}}}},
              "C": {"Type": "Task", "Resource": "count", "ResultPath": "$.c", "End": true}}}
            """)
        let counter = Flaky(failures: 0)
        let first = MemoryJournal()
        let engine = Engine(resources: ["count": counter], clock: ManualClock())
        let full = await engine.run(machine, input: ["items": [1, 2]], name: "x", journal: first)
        #expect(full.status == "SUCCEEDED")
        #expect(counter.calls.withLock { $0 } == 4)

        // The process died right after both of the Map's items succeeded (they run at once,
        // so either may be recorded last): keep the journal up to there.
        let records = try first.records()
        let cut = try ["item0", "item1"].map { item in
            try #require(records.lastIndex { $0["kind"] == "task" && ($0["key"]?.stringValue?.contains(item) ?? false) })
        }.max()!
        let journal = MemoryJournal(Array(records[...cut]))
        let again = Flaky(failures: 0)
        let resumed = await Engine(resources: ["count": again], clock: ManualClock()).run(machine, input: ["items": [1, 2]], name: "x", journal: journal)
        #expect(resumed.status == "SUCCEEDED")
        #expect(again.calls.withLock { $0 } == 1, "only C runs again")
        #expect(resumed.output?["b"]?.arrayValue?.count == 2)
        // A finished execution's journal just reports its end.
        let done = await Engine(resources: ["count": again], clock: ManualClock()).run(machine, input: [:], name: "x", journal: journal)
        #expect(done.status == "SUCCEEDED")
        #expect(again.calls.withLock { $0 } == 1)
    }
}

/// A task that takes `seconds` of the engine's clock.
struct Slow: TaskResource {
    let clock: any EngineClock
    let seconds: Double
    func invoke(_ request: TaskRequest) async throws(StatesError) -> JSONValue {
        do { try await clock.sleep(seconds) } catch { throw StatesError("Cancelled", "") }
        return "done"
    }
}

@Suite struct TimeoutTests {
    @Test func aTaskPastItsTimeoutFailsWithStatesTimeoutAndCanBeRetried() async throws {
        let clock = ManualClock()
        let machine = try StateMachine(json: """
            {"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "slow", "TimeoutSecondsPath": "$.limit", "End": true,
              "Retry": [{"ErrorEquals": ["States.Timeout"], "MaxAttempts": 1, "IntervalSeconds": 1}]}}}
            """)
        let outcome = await Engine(resources: ["slow": Slow(clock: clock, seconds: 10)], clock: clock).run(machine, input: ["limit": 5])
        #expect(outcome.status == "FAILED")  // as in AWS: only the execution's own timeout is TIMED_OUT
        #expect(outcome.error?.error == "States.Timeout")
        #expect(outcome.history.filter { $0.type == "TaskTimedOut" }.count == 2)
        let fast = await Engine(resources: ["slow": Slow(clock: clock, seconds: 2)], clock: clock).run(machine, input: ["limit": 5])
        #expect(fast.status == "SUCCEEDED")
    }

    @Test func anExecutionPastItsTimeoutIsTimedOut() async throws {
        let clock = ManualClock()
        let machine = try StateMachine(json: #"{"TimeoutSeconds": 60, "StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 120, "End": true}}}"#)
        let outcome = await Engine(clock: clock).run(machine, input: [:])
        #expect(outcome.status == "TIMED_OUT")
        #expect(outcome.error?.error == "States.Timeout")
        #expect(outcome.history.last?.type == "ExecutionTimedOut")
    }

    @Test func aStuckTaskIsInterruptedOnTheRealClock() async throws {
        let machine = try StateMachine(json: """
            {"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "slipway:command", "TimeoutSeconds": 1,
              "Parameters": {"Command": ["sleep", "600"]}, "End": true}}}
            """)
        let started = Date()
        let outcome = await Engine(resources: BuiltInResources.all).run(machine, input: [:])
        #expect(outcome.error?.error == "States.Timeout")
        // Well before the command would end by itself (the bound is loose: a loaded test run
        // can keep the two-thread concurrency pool busy for a while).
        #expect(Date().timeIntervalSince(started) < 300)
    }
}

/// Records the task token it was given.
final class TokenCatcher: TaskResource, @unchecked Sendable {
    let token = Mutex<String?>(nil)
    func invoke(_ request: TaskRequest) async throws(StatesError) -> JSONValue {
        token.withLock { $0 = request.token }
        return "ignored"
    }
}

@Suite struct TaskTokenTests {
    let folder = NSTemporaryDirectory() + "slipway-tokens-\(UUID().uuidString)"

    @Test func aWaitForTaskTokenTaskEndsWithTheOutputSentForItsToken() async throws {
        let catcher = TokenCatcher()
        let tokens = FileTaskTokens(folder: folder)
        let machine = try StateMachine(json: """
            {"StartAt": "Approve", "States": {"Approve": {"Type": "Task", "Resource": "approval.waitForTaskToken",
              "Parameters": {"token.$": "$$.Task.Token"}, "ResultPath": "$.decision", "End": true}}}
            """)
        let engine = Engine(resources: ["approval": catcher], tokens: tokens)
        async let outcome = engine.run(machine, input: ["model": "demand"])
        var token: String?
        for _ in 0..<400 where token == nil {
            try await Task.sleep(nanoseconds: 20_000_000)
            token = catcher.token.withLock { $0 }
        }
        let sent = try #require(token)
        try tokens.succeed(sent, output: ["approved": true])
        let result = await outcome
        #expect(result.status == "SUCCEEDED")
        #expect(result.output == ["model": "demand", "decision": ["approved": true]])
        #expect(throws: StatesError.self) { try tokens.succeed(sent, output: [:]) }  // only once
    }

    @Test func aTokenFailedFromOutsideFailsTheTaskAndSilenceTimesItOut() async throws {
        let tokens = FileTaskTokens(folder: folder)
        let catcher = TokenCatcher()
        let failing = try StateMachine(json: #"{"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "x.waitForTaskToken", "End": true}}}"#)
        let engine = Engine(resources: ["x": catcher], tokens: tokens)
        async let outcome = engine.run(failing, input: [:])
        var token: String?
        for _ in 0..<400 where token == nil {
            try await Task.sleep(nanoseconds: 20_000_000)
            token = catcher.token.withLock { $0 }
        }
        try tokens.fail(try #require(token), error: "Rejected", cause: "not good enough")
        #expect(await outcome.error == StatesError("Rejected", "not good enough"))

        let silent = try StateMachine(json: #"{"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "x.waitForTaskToken", "HeartbeatSeconds": 5, "End": true}}}"#)
        let timedOut = await Engine(resources: ["x": TokenCatcher()], clock: ManualClock(), tokens: tokens).run(silent, input: [:], name: "silent")
        #expect(timedOut.error?.error == "States.HeartbeatTimeout")
        #expect(timedOut.history.contains { $0.type == "TaskTimedOut" })
    }
}

@Suite struct RedriveTests {
    @Test func aRedrivenExecutionReusesWhatSucceededAndRerunsWhatFailed() async throws {
        let machine = try StateMachine(json: """
            {"StartAt": "A", "States": {
              "A": {"Type": "Task", "Resource": "count", "ResultPath": "$.a", "Next": "B"},
              "B": {"Type": "Task", "Resource": "flaky", "ResultPath": "$.b", "End": true}}}
            """)
        let journal = MemoryJournal()
        let count = Flaky(failures: 0), flaky = Flaky(failures: 1, error: "Broken")
        let engine = Engine(resources: ["count": count, "flaky": flaky], clock: ManualClock())
        let failed = await engine.run(machine, input: [:], name: "r", journal: journal)
        #expect(failed.error?.error == "Broken")
        try journal.append(["kind": "redrive"])
        let redriven = await engine.run(machine, input: [:], name: "r", journal: journal)
        #expect(redriven.status == "SUCCEEDED")
        #expect(count.calls.withLock { $0 } == 1, "A is not run again")
        #expect(flaky.calls.withLock { $0 } == 2)
        #expect(redriven.history.contains { $0.type == "ExecutionRedriven" })
        #expect(redriven.history.map(\.id) == Array(1...redriven.history.count))
    }
}

/// The HTTP task as the engine sees it, through an in-memory transport: how it builds the
/// request, shapes the result and maps failures. (Against a real server, through
/// AsyncHTTPClient: PipelinesTests' `HTTPTransportTests`.)
@Suite struct HTTPInvokeTests {
    /// Answers from memory, recording each request.
    final class MemoryTransport: HTTPTransport {
        struct Sent: Sendable { var method: String, url: String, headers: [String: String], body: String? }
        let sent = Mutex<[Sent]>([])
        let answer: @Sendable (String) throws(HTTPTransportError) -> HTTPTransportResponse
        init(answer: @escaping @Sendable (String) throws(HTTPTransportError) -> HTTPTransportResponse) { self.answer = answer }

        func send(method: String, url: String, headers: [(name: String, value: String)], body: [UInt8]?,
                  timeout: Duration) async throws(HTTPTransportError) -> HTTPTransportResponse {
            let fields = Dictionary(headers.map { ($0.name, $0.value) }) { $1 }
            sent.withLock { $0.append(Sent(method: method, url: url, headers: fields, body: body.map { String(decoding: $0, as: UTF8.self) })) }
            return try answer(url)
        }
    }

    let machine = try! StateMachine(json: """
        {"StartAt": "Post", "States": {"Post": {"Type": "Task", "Resource": "arn:aws:states:::http:invoke",
          "Parameters": {"ApiEndpoint.$": "$.url", "Method": "post", "QueryParameters": {"sku": "a1", "n": 2},
                         "Headers": {"X-Trace": "t1"}, "RequestBody": {"units": 3}}, "End": true}}}
        """)

    @Test func theHTTPTaskSendsItsRequestThroughTheTransportAndShapesTheAnswer() async throws {
        let transport = MemoryTransport { _ throws(HTTPTransportError) in
            HTTPTransportResponse(status: 200, reason: "OK", headers: [("Content-Type", "application/json"), ("Set-Cookie", "a=1"), ("Set-Cookie", "b=2")],
                                  body: Array(#"{"price": 12.5}"#.utf8))
        }
        let outcome = await Engine(resources: BuiltInResources.all(http: transport)).run(machine, input: ["url": "http://quotes.test/quote"])
        #expect(outcome.status == "SUCCEEDED", "\(outcome.error?.description ?? "")")
        #expect(outcome.output == ["StatusCode": 200, "StatusText": "OK", "ResponseBody": ["price": 12.5],
                                   "Headers": ["Content-Type": "application/json", "Set-Cookie": "a=1, b=2"]])
        let sent = try #require(transport.sent.withLock { $0.first })
        #expect(sent.method == "POST")
        #expect(sent.url == "http://quotes.test/quote?n=2&sku=a1")
        #expect(sent.headers == ["X-Trace": "t1", "Content-Type": "application/json"])
        #expect(sent.body == #"{"units":3}"#)
    }

    @Test func errorStatusesAndMissingAnswersAreStatesErrorsNamingTheURL() async throws {
        let transport = MemoryTransport { url throws(HTTPTransportError) in
            if url.contains("down") { throw HTTPTransportError(method: "POST", url: url, reason: "connection refused", hint: "check that a server listens at that address") }
            return HTTPTransportResponse(status: 404, reason: "Not Found", body: Array("no such quote".utf8))
        }
        let engine = Engine(resources: BuiltInResources.all(http: transport))
        let missing = await engine.run(machine, input: ["url": "http://quotes.test/missing"])
        #expect(missing.error?.error == "States.Http.StatusCode.404")
        #expect(missing.error?.cause == "POST http://quotes.test/missing?n=2&sku=a1 answered 404: no such quote")
        let down = await engine.run(machine, input: ["url": "http://down.test/quote"])
        #expect(down.error?.error == "States.Http.Socket")
        #expect(down.error?.cause.contains("'http://down.test/quote?n=2&sku=a1' failed: connection refused") == true, "\(down.error?.cause ?? "")")
    }

    @Test func withoutATransportTheHTTPTaskFailsSayingWhy() async throws {
        let outcome = await Engine(resources: BuiltInResources.all).run(machine, input: ["url": "http://quotes.test/quote"])
        #expect(outcome.error?.error == "States.TaskFailed")
        #expect(outcome.error?.cause.contains("cannot POST 'http://quotes.test/quote?n=2&sku=a1': this engine has no HTTP transport") == true,
                "\(outcome.error?.cause ?? "")")
    }
}

@Suite struct ReviewFixTests {
    @Test func aTaskThatSucceededOnARetryIsNotCalledAgainOnResume() async throws {
        let machine = try StateMachine(json: """
            {"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "flaky", "Next": "After",
              "Retry": [{"ErrorEquals": ["States.ALL"], "MaxAttempts": 3}]}, "After": {"Type": "Pass", "End": true}}}
            """)
        let flaky = Flaky(failures: 1)
        let journal = MemoryJournal()
        _ = await Engine(resources: ["flaky": flaky], clock: ManualClock()).run(machine, input: [:], name: "x", journal: journal)
        let records = try journal.records()
        let cut = records.firstIndex { $0["kind"] == "task" }!
        let again = Flaky(failures: 0)
        let resumed = await Engine(resources: ["flaky": again], clock: ManualClock()).run(machine, input: [:], name: "x", journal: MemoryJournal(Array(records[...cut])))
        #expect(resumed.status == "SUCCEEDED")
        #expect(again.calls.withLock { $0 } == 0)
    }

    @Test func aFailedMapStartsNoMoreItemsAndAFailedBranchStopsTheOthers() async throws {
        let counter = Flaky(failures: 0)
        let machine = try StateMachine(json: """
            {"StartAt": "M", "States": {"M": {"Type": "Map", "MaxConcurrency": 1, "End": true,
              "ItemProcessor": {"StartAt": "C", "States": {
                "C": {"Type": "Choice", "Choices": [{"Variable": "$", "StringEquals": "fail", "Next": "F"}], "Default": "Work"},
                "F": {"Type": "Fail", "Error": "Item.Failed"},
                "Work": {"Type": "Task", "Resource": "count", "End": true}}}}}}
            """)
        let outcome = await Engine(resources: ["count": counter], clock: ManualClock()).run(machine, input: ["fail", "side", "side"])
        #expect(outcome.error?.error == "Item.Failed")
        #expect(counter.calls.withLock { $0 } == 0)
        #expect(outcome.history.filter { $0.type == "FailStateEntered" }.count == 1)
    }

    @Test func heartbeatTimeoutsMatchStatesTimeoutAndNotTaskFailed() {
        let heartbeat = StatesError("States.HeartbeatTimeout", "")
        #expect(Interpreter.handler(for: heartbeat, in: [["ErrorEquals": ["States.TaskFailed"]], ["ErrorEquals": ["States.Timeout"], "Next": "T"]])?.1 == 1)
        #expect(Interpreter.handler(for: StatesError("Custom", ""), in: [["ErrorEquals": ["States.TaskFailed"]]])?.1 == 0)
        #expect(Interpreter.handler(for: .runtime("x"), in: [["ErrorEquals": ["States.ALL"]]]) == nil)
    }

    @Test func stringEqualityComparesCodePointsNotCanonicalEquivalence() async throws {
        let machine = try StateMachine(json: """
            {"StartAt": "C", "States": {"C": {"Type": "Choice", "Choices": [{"Variable": "$.s", "StringEquals": "é", "Next": "Same"}], "Default": "Different"},
              "Same": {"Type": "Pass", "Result": "same", "End": true}, "Different": {"Type": "Pass", "Result": "different", "End": true}}}
            """)
        #expect(await Engine().run(machine, input: ["s": "e\u{301}"]).output == "different")
        #expect(await Engine().run(machine, input: ["s": "\u{e9}"]).output == "same")
    }

    @Test func aResumedExecutionKeepsItsRetryCountsAndWaitDeadlines() async throws {
        let retrying = try StateMachine(json: """
            {"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "flaky", "End": true,
              "Retry": [{"ErrorEquals": ["Busy"], "MaxAttempts": 1}]}}}
            """)
        let journal = MemoryJournal()
        _ = await Engine(resources: ["flaky": Flaky(failures: 1)], clock: ManualClock()).run(retrying, input: [:], name: "r", journal: journal)
        let records = try journal.records()
        let cut = records.firstIndex { $0["kind"] == "retry" }!
        let resumed = await Engine(resources: ["flaky": Flaky(failures: 1)], clock: ManualClock())
            .run(retrying, input: [:], name: "r", journal: MemoryJournal(Array(records[...cut])))
        #expect(resumed.error?.error == "Busy", "the one retry allowed was already used before the restart")

        let waiting = try StateMachine(json: #"{"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 100, "End": true}}}"#)
        let first = MemoryJournal()
        _ = await Engine(clock: ManualClock()).run(waiting, input: [:], name: "w", journal: first)
        let waitRecords = try first.records()
        let upToWait = waitRecords.firstIndex { $0["kind"] == "waitUntil" }!
        let clock = ManualClock()
        try await clock.sleep(60)  // the process was down for a minute
        let done = await Engine(clock: clock).run(waiting, input: [:], name: "w", journal: MemoryJournal(Array(waitRecords[...upToWait])))
        #expect(done.status == "SUCCEEDED")
        #expect(clock.waits == [60, 40])
    }

    @Test func failCanBuildItsCauseWithAnIntrinsic() async throws {
        let machine = try StateMachine(json: #"{"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "Bad", "CausePath": "States.Format('bad input {}', $.x)"}}}"#)
        #expect(await Engine().run(machine, input: ["x": 3]).error == StatesError("Bad", "bad input 3"))
    }
}
