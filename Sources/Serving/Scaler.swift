/// Autoscaling of one pool as a pure decision: fed the pool's in-flight requests at each
/// reconcile, it keeps the last six samples and says whether to add workers (at once) or
/// remove one (after the cooldown since the last change, and only when no worker died).
struct Scaler: Sendable, Equatable {
    /// What to do with the pool.
    enum Decision: Sendable, Equatable {
        case none
        /// Grow from `from` workers to `to`; `average` requests were in flight.
        case scaleOut(from: Int, to: Int, average: Double)
        /// Stop one worker.
        case scaleIn(from: Int, to: Int, average: Double)
    }

    private var samples: [Int] = []
    /// When the pool last changed size (the clock's time), nil when never.
    private(set) var lastChange: Duration?

    init() {}

    /// One observation at `now`: `inFlight` requests, `planned` workers live or starting,
    /// `dead` workers just found exited (their replacements come from this decision).
    mutating func observe(inFlight: Int, planned: Int, dead: Int, now: Duration, policy: AutoscalingConfig) -> Decision {
        samples.append(inFlight)
        if samples.count > 6 { samples.removeFirst(samples.count - 6) }
        let average = Double(samples.reduce(0, +)) / Double(samples.count)
        let wanted = min(max(Int((average / max(policy.targetInFlight, 0.1)).rounded(.up)), policy.minWorkers, 1), max(policy.maxWorkers, 1))
        let cooled = lastChange.map { now - $0 >= .seconds(policy.scaleInCooldown) } ?? true
        if wanted > planned {
            lastChange = now
            return .scaleOut(from: planned, to: wanted, average: average)
        }
        if wanted < planned && cooled && dead == 0 {
            lastChange = now
            return .scaleIn(from: planned, to: planned - 1, average: average)
        }
        return .none
    }

    /// A scale-in that found no idle worker did not happen: the cooldown does not start.
    mutating func scaleInSkipped(previous: Duration?) { lastChange = previous }
}
