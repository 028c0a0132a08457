import Synchronization

/// The one clock every wait of Serving goes through: the reconcile interval, health and
/// request timeouts, bakes, traffic steps, autoscaling cooldowns and drain grace. Made from
/// any `Clock<Duration>`: `ContinuousClock` in production, a manual clock in tests.
struct ServingClock: Sendable {
    /// Time since the clock was made.
    let now: @Sendable () -> Duration
    private let sleeper: @Sendable (Duration) async throws -> Void

    /// Wraps `clock`; its `now` counts from this moment.
    init<C: Clock>(_ clock: C) where C.Duration == Duration {
        let origin = clock.now
        now = { origin.duration(to: clock.now) }
        sleeper = { try await clock.sleep(for: $0) }
    }

    /// Waits `duration`; throws `CancellationError` when the task is cancelled.
    func sleep(for duration: Duration) async throws {
        try await sleeper(duration)
    }

    /// Runs `operation`; when it takes longer than `limit`, or the task is cancelled, calls
    /// `onTimeout`, which must make `operation` end (e.g. by killing the process it waits
    /// for). Returns the operation's value and whether `onTimeout` was called.
    func deadline<T: Sendable>(_ limit: Duration, onTimeout: @escaping @Sendable () -> Void,
                               _ operation: @escaping @Sendable () async -> T) async -> (value: T, timedOut: Bool) {
        let flags = DeadlineFlags()
        let value = await withTaskGroup(of: T?.self) { group in
            group.addTask { await operation() }
            group.addTask {
                try? await self.sleep(for: limit)
                guard !flags.done.load(ordering: .sequentiallyConsistent) else { return nil }
                flags.fired.store(true, ordering: .sequentiallyConsistent)
                onTimeout()
                return nil
            }
            var result: T?
            for await value in group where value != nil {
                result = value
                flags.done.store(true, ordering: .sequentiallyConsistent)
                group.cancelAll()
            }
            return result!
        }
        return (value, flags.fired.load(ordering: .sequentiallyConsistent))
    }
}

/// Whether a deadline fired, and whether its operation was done first.
private final class DeadlineFlags: Sendable {
    let fired = Atomic<Bool>(false)
    let done = Atomic<Bool>(false)
}

/// A value that arrives once and that any number of tasks can wait for.
final class Promise<Value: Sendable>: Sendable {
    private struct State {
        var value: Value?
        var waiters: [CheckedContinuation<Value, Never>] = []
    }
    private let state = Mutex(State())

    init() {}

    /// Sets the value, unless one was set before; returns whether this call set it.
    @discardableResult
    func fulfil(_ value: Value) -> Bool {
        let waiters = state.withLock { state -> [CheckedContinuation<Value, Never>]? in
            guard state.value == nil else { return nil }
            state.value = value
            defer { state.waiters.removeAll() }
            return state.waiters
        }
        guard let waiters else { return false }
        for waiter in waiters { waiter.resume(returning: value) }
        return true
    }

    /// The value if it has arrived.
    var current: Value? { state.withLock { $0.value } }

    /// Waits for the value (not cancellable: whoever fulfils it must be bounded).
    var value: Value {
        get async {
            await withCheckedContinuation { continuation in
                let ready = state.withLock { state -> Value? in
                    if let value = state.value { return value }
                    state.waiters.append(continuation)
                    return nil
                }
                if let ready { continuation.resume(returning: ready) }
            }
        }
    }
}
