import Foundation
import Logging
import Registry
import Synchronization
import Testing
@testable import Serving

/// Pools of in-memory workers on a manual clock: timeouts, queueing and scale-in.
@Suite struct WorkerPoolTests {
    /// A pool of `workers` whose model sleeps `{"sleep": SECONDS}` on the manual clock, run
    /// in a task group as the manager runs them.
    func withPool(workers: Int, limits: WorkerLimits, _ body: @escaping @Sendable (WorkerPool, ManualClock, MemoryLauncher) async throws -> Void) async throws {
        let manual = ManualClock()
        let clock = ServingClock(manual)
        let launcher = MemoryLauncher { _, request in
            if let seconds = request["sleep"]?.doubleValue {
                do { try await manual.sleep(for: .seconds(seconds)) } catch { return ["cancelled": true] }
            }
            return ["answer": request]
        }
        let (jobs, sink) = AsyncStream.makeStream(of: (@Sendable () async -> Void).self)
        let context = PoolContext(launcher: launcher, clock: clock, limits: limits, spawn: { job in
            if case .enqueued = sink.yield(job) { return true }
            return false
        }, logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }))
        let variant = VariantConfig(name: "demand-v1", model: "demand", version: 1, code: "", script: "", python: "", modelArchive: "", modelDigest: "")
        let spec = WorkerSpec(code: "", script: "", python: "", modelFolder: "", workerScript: "", memoryBytes: 0, logFile: "/nonexistent")
        let pool = WorkerPool(variant: variant, spec: spec, context: context)
        try await withThrowingDiscardingTaskGroup { group in
            group.addTask {
                defer { sink.finish() }
                try await pool.grow(by: workers, healthTimeout: .seconds(10))
                try await body(pool, manual, launcher)
                await pool.drain(timeout: .zero)
            }
            for await job in jobs { group.addTask { await job() } }
        }
        #expect(launcher.live == 0, "no worker outlives its pool")
    }

    func ask(_ pool: WorkerPool, sleep seconds: Double) async -> InvocationResult? {
        await pool.invoke(Invocation(body: Array(#"{"sleep": \#(seconds)}"#.utf8), contentType: "application/json", accept: ""))
    }

    /// Moves the clock on a second at a time, letting the woken tasks run in between, until
    /// `condition` holds (whenever a task gets to sleep on the clock, it is woken in time).
    @discardableResult
    func advance(_ clock: ManualClock, until condition: () -> Bool) async -> Bool {
        for _ in 0..<2000 {
            if condition() { return true }
            clock.advance(by: .seconds(1))
            try? await Task.sleep(for: .milliseconds(1))
        }
        return condition()
    }

    @Test func aRequestsTimeoutStartsWhenItsWorkerTakesIt() async throws {
        var limits = WorkerLimits()
        limits.requestTimeout = .seconds(15)
        limits.queueTimeout = .seconds(100)
        try await withPool(workers: 1, limits: limits) { pool, clock, _ in
            let answers = Answers()
            async let first: Void = answers.put("first", await ask(pool, sleep: 8))
            #expect(await eventually { pool.inFlight == 1 })
            async let second: Void = answers.put("second", await ask(pool, sleep: 8))
            #expect(await eventually { pool.inFlight == 2 })
            // Queued 8 s, then 8 s of work: past 15 s from being sent, within 15 s from being taken.
            #expect(await advance(clock) { answers.count == 2 })
            _ = await (first, second)
            #expect(answers["first"]?.status == 200)
            #expect(answers["second"]?.status == 200, "\(answers["second"]?.error ?? "")")
            #expect(clock.now.offset >= .seconds(16))
        }
    }

    @Test func aStuckRequestFailsWith504AndItsWorkerIsReplacedNotReused() async throws {
        var limits = WorkerLimits()
        limits.requestTimeout = .seconds(10)
        try await withPool(workers: 1, limits: limits) { pool, clock, launcher in
            let answers = Answers()
            async let stuck: Void = answers.put("stuck", await ask(pool, sleep: 1000))
            #expect(await advance(clock) { answers.count == 1 })
            await stuck
            #expect(answers["stuck"]?.status == 504)
            #expect(answers["stuck"]?.error?.contains("no answer within 10") == true, "\(answers["stuck"]?.error ?? "")")
            #expect(clock.now.offset < .seconds(100))
            #expect(await eventually { launcher.live == 0 })
            #expect(pool.pruneDead() == 1)
        }
    }

    @Test func aHungRequestFreesItsOnlyWorkerAtItsDeadlineAndTheNextRequestIsServed() async throws {
        var limits = WorkerLimits()
        limits.requestTimeout = .seconds(10)
        limits.queueTimeout = .seconds(5)
        try await withPool(workers: 1, limits: limits) { pool, clock, launcher in
            let answers = Answers()
            async let hung: Void = answers.put("hung", await ask(pool, sleep: 100_000))
            #expect(await eventually { pool.inFlight == 1 })
            // Behind it, a request waits for the busy worker: 503 at its queue timeout, not held.
            async let queued: Void = answers.put("queued", await ask(pool, sleep: 1))
            #expect(await eventually { pool.inFlight == 2 })
            #expect(await advance(clock) { answers["queued"] != nil })
            await queued
            #expect(answers["queued"]?.status == 503)
            #expect(answers["queued"]?.cause == .busy)
            // (A 503 for being busy, not a lost worker's 500: it gave up before the hung one's deadline.)
            #expect(await advance(clock) { answers["hung"] != nil })
            await hung
            #expect(answers["hung"]?.status == 504)
            #expect(answers["hung"]?.cause == .timedOut)
            // The clock moves a second per real millisecond, so a loaded machine overshoots the
            // 10 s deadline; the model itself would have given up only after 100,000 s.
            #expect(clock.now.offset < .seconds(1000), "the hung request ended at its deadline, not when the model gave up")
            // The stuck worker was killed; its replacement (the manager's maintain does this) serves.
            #expect(await eventually { launcher.live == 0 })
            #expect(pool.pruneDead() == 1)
            try await pool.grow(by: 1, healthTimeout: .seconds(10))
            async let next: Void = answers.put("next", await ask(pool, sleep: 1))
            #expect(await advance(clock) { answers["next"] != nil })
            await next
            #expect(answers["next"]?.status == 200, "\(answers["next"]?.error ?? "")")
            #expect(pool.counts.errors == 2 && pool.counts.clientErrors == 0)
        }
    }

    @Test func aRequestWaitingForABusyWorkerGivesUp() async throws {
        var limits = WorkerLimits()
        limits.requestTimeout = .seconds(100)
        limits.queueTimeout = .seconds(5)
        try await withPool(workers: 1, limits: limits) { pool, clock, _ in
            let answers = Answers()
            async let busy: Void = answers.put("busy", await ask(pool, sleep: 50))
            #expect(await eventually { pool.inFlight == 1 })
            async let waiting: Void = answers.put("waiting", await ask(pool, sleep: 1))
            #expect(await eventually { pool.inFlight == 2 })
            #expect(await advance(clock) { answers["waiting"] != nil })
            await waiting
            #expect(answers["waiting"]?.status == 503)
            #expect(answers["waiting"]?.error?.contains("was busy for") == true, "\(answers["waiting"]?.error ?? "")")
            #expect(answers["busy"] == nil, "the first request is still at work")
            #expect(await advance(clock) { answers["busy"] != nil })
            await busy
            #expect(answers["busy"]?.status == 200)
            #expect(pool.counts.requests == 2)
        }
    }

    @Test func aScaleInNeverStopsTheWorkerARequestWasGiven() async throws {
        try await withPool(workers: 2, limits: WorkerLimits()) { pool, clock, launcher in
            let answers = Answers()
            async let held: Void = answers.put("held", await ask(pool, sleep: 3))
            #expect(await eventually { pool.inFlight == 1 })
            #expect(pool.shrink(by: 2) == 1, "only the idle worker stops")
            #expect(pool.shrink(by: 1) == 0, "the other holds a request")
            #expect(await advance(clock) { answers.count == 1 })
            await held
            #expect(answers["held"]?.status == 200)
            #expect(await eventually { launcher.live == 1 })
            #expect(pool.shrink(by: 1) == 1, "idle now")
        }
    }

    @Test func aDrainingPoolFinishesWhatItHoldsAndRefusesNewRequests() async throws {
        try await withPool(workers: 1, limits: WorkerLimits()) { pool, clock, launcher in
            let answers = Answers()
            async let held: Void = answers.put("held", await ask(pool, sleep: 2))
            #expect(await eventually { pool.inFlight == 1 })
            async let drained: Void = pool.drain(timeout: .seconds(60))
            try await Task.sleep(for: .milliseconds(20))
            #expect(await ask(pool, sleep: 0) == nil, "a draining pool refuses")
            #expect(await advance(clock) { answers.count == 1 })
            await held
            #expect(answers["held"]?.status == 200)
            await drained
            #expect(await eventually { launcher.live == 0 })
        }
    }
}

/// Answers by name, from concurrent requests.
final class Answers: Sendable {
    private let all = Mutex<[String: InvocationResult]>([:])
    func put(_ name: String, _ result: InvocationResult?) { all.withLock { $0[name] = result } }
    subscript(name: String) -> InvocationResult? { all.withLock { $0[name] } }
    var count: Int { all.withLock { $0.count } }
}
