/// One endpoint's update engine as a pure state machine (STYLE.md point 9): each event is a
/// `mutating func` returning the one `Action` its driver, ``EndpointManager``, performs next;
/// the driver reports what came of it as the next event. It knows nothing of processes,
/// clocks or the registry, so its tests drive it directly.
///
/// An update starts the new variants' pools, waits for their health check, shifts traffic
/// in the configured steps (all at once, canary, linear), bakes each step while watching
/// the new variants' errors, then drains the old pools; a failed health check or bake rolls
/// it back. A newer generation asked for while the pools still start abandons them. After
/// a restart the machine restores what was applied before, then carries on.
struct UpdateMachine: Sendable, Equatable {
    /// How an update ended (the `outcome` of `lastUpdate`).
    enum Outcome: String, Sendable, Equatable { case succeeded = "Succeeded", rolledBack = "RolledBack", failed = "Failed" }

    /// Where the machine is.
    enum Phase: Sendable, Equatable {
        case idle
        /// Starting the pools of the generation applied before a restart.
        case restoring(generation: Int)
        /// Starting the new pools; `superseded` once a newer generation abandoned them.
        case starting(generation: Int, superseded: Bool)
        /// `share` of the traffic on the new pools, baked for `baked` so far.
        case shifting(generation: Int, step: Int, baked: Duration)
        /// Traffic back on the old pools; the new ones drain.
        case rollingBack(generation: Int, reason: String)
        /// All traffic on the new pools; the old ones drain.
        case draining(generation: Int)
    }

    /// What the driver does next.
    enum Action: Sendable, Equatable {
        /// Nothing now.
        case none
        /// Start the pools of the applied configuration and route to them (`restored` follows).
        case restore(generation: Int)
        /// Record the update as in progress and start the new pools (`poolsStarted` or `poolsFailed` follows).
        case startPools(generation: Int)
        /// Kill the pools still starting, so their start fails now (`poolsFailed` follows).
        case abandonStarting(generation: Int, newer: Int)
        /// Route `share` of the traffic to the new pools and reset their counts (`bakeChecked` follows, with no wait).
        case shiftTraffic(generation: Int, share: Double)
        /// Wait, then count the new pools' requests and errors (`bakeChecked` follows).
        case wait(generation: Int, duration: Duration)
        /// Route all traffic back to the old pools and drain the new ones (`rolledBack` follows).
        case rollBack(generation: Int, reason: String)
        /// Drain the old pools; the new configuration is applied (`oldDrained` follows).
        case drainOld(generation: Int)
        /// Write the outcome; the update is over.
        case record(generation: Int, outcome: Outcome, reason: String?)
        /// Write how the restore went; it is over.
        case recordRestore(generation: Int, failure: String?)
    }

    /// One variant's requests since traffic last moved: all of them, those that failed for
    /// the server's causes (`errors`, what a bake judges), and those that failed for the
    /// client's (`clientErrors`: malformed, unsupported or too large; never held against it).
    struct Counts: Sendable, Equatable {
        var variant: String
        var requests: Int
        var errors: Int
        var clientErrors = 0
    }

    /// How often a bake looks at the error counts.
    static let bakeCheck = Duration.milliseconds(100)

    private(set) var phase = Phase.idle
    /// The generation in service, if any.
    private(set) var applied: Int?
    /// The newest generation whose update has an outcome; it is not tried again.
    private(set) var attempted: Int?
    /// Whether some pool serves (an update that fails then rolls back rather than fails).
    private(set) var inService = false
    /// Whether the last update or restore left the endpoint with nothing to serve.
    private(set) var failed = false
    private var traffic = TrafficConfig()
    private var shares: [Double] = []

    init() {}

    /// The endpoint's status as `endpoint-status` shows it.
    var status: String {
        switch phase {
        case .idle: inService ? "InService" : failed ? "Failed" : "Creating"
        case .restoring: "Updating"
        case .starting, .shifting, .draining: applied == nil ? "Creating" : "Updating"
        case .rollingBack: "RollingBack"
        }
    }

    /// Whether an update or restore is under way (autoscaling waits for it).
    var isBusy: Bool { phase != .idle }

    // MARK: - Events

    /// The agent restarted and found `generation` applied; `lastGeneration` is that of the
    /// last update with an outcome (nil when it was unfinished, so it starts again).
    mutating func restarted(applied generation: Int, lastGeneration: Int?) -> Action {
        guard phase == .idle else { return .none }
        attempted = lastGeneration
        phase = .restoring(generation: generation)
        return .restore(generation: generation)
    }

    /// The restore ended: serving again, or why not.
    mutating func restored(generation: Int, failure: String?) -> Action {
        guard phase == .restoring(generation: generation) else { return .none }
        phase = .idle
        if failure == nil {
            applied = generation
            inService = true
        } else {
            failed = true
        }
        return .recordRestore(generation: generation, failure: failure.map { "restarting generation \(generation) failed: \($0)" })
    }

    /// The registry asks for `generation` with `traffic` settings (seen at every reconcile).
    mutating func desired(generation: Int, traffic: TrafficConfig) -> Action {
        switch phase {
        case .idle:
            guard (applied ?? 0) < generation, (attempted ?? 0) < generation else { return .none }
            self.traffic = traffic
            shares = Self.shares(traffic, hasOld: inService)
            phase = .starting(generation: generation, superseded: false)
            return .startPools(generation: generation)
        case .starting(let current, false) where current < generation:
            phase = .starting(generation: current, superseded: true)
            return .abandonStarting(generation: current, newer: generation)
        default:
            return .none
        }
    }

    /// The new pools loaded their model and answered a ping.
    mutating func poolsStarted(generation: Int) -> Action {
        guard case .starting(generation, _) = phase else { return .none }
        phase = .shifting(generation: generation, step: 0, baked: .zero)
        return .shiftTraffic(generation: generation, share: shares[0])
    }

    /// The new pools did not start (a failed health check, or abandoned); none of them is left.
    mutating func poolsFailed(generation: Int, reason: String) -> Action {
        guard case .starting(generation, _) = phase else { return .none }
        return finish(generation, inService ? .rolledBack : .failed, "the new variant did not become healthy: \(reason)")
    }

    /// The new pools' counts after a traffic shift (`waited` zero) or a wait.
    mutating func bakeChecked(generation: Int, waited: Duration, counts: [Counts]) -> Action {
        guard case .shifting(generation, let step, let before) = phase else { return .none }
        let baked = before + waited
        for count in counts {
            // The client's mistakes say nothing of the version: judge the other requests only.
            let judged = count.requests - count.clientErrors
            guard judged >= traffic.minimumRequests, judged > 0 else { continue }
            if Double(count.errors) / Double(judged) > traffic.errorThreshold {
                let ignored = count.clientErrors > 0 ? "; \(count.clientErrors) client errors not counted" : ""
                let reason = "variant '\(count.variant)' answered \(count.errors) of \(judged) requests with an error during the bake (threshold \(Int(traffic.errorThreshold * 100))%\(ignored))"
                phase = .rollingBack(generation: generation, reason: reason)
                return .rollBack(generation: generation, reason: reason)
            }
        }
        let bake = Duration.seconds(max(0, traffic.bakeSeconds))
        if baked < bake {
            phase = .shifting(generation: generation, step: step, baked: baked)
            return .wait(generation: generation, duration: min(Self.bakeCheck, bake - baked))
        }
        if step + 1 < shares.count {
            phase = .shifting(generation: generation, step: step + 1, baked: .zero)
            return .shiftTraffic(generation: generation, share: shares[step + 1])
        }
        phase = .draining(generation: generation)
        return .drainOld(generation: generation)
    }

    /// The new pools of a rolled-back update have drained.
    mutating func rolledBack(generation: Int) -> Action {
        guard case .rollingBack(generation, let reason) = phase else { return .none }
        return finish(generation, .rolledBack, reason)
    }

    /// The old pools have drained: the new generation is the one in service.
    mutating func oldDrained(generation: Int) -> Action {
        guard phase == .draining(generation: generation) else { return .none }
        applied = generation
        inService = true
        return finish(generation, .succeeded, nil)
    }

    private mutating func finish(_ generation: Int, _ outcome: Outcome, _ reason: String?) -> Action {
        phase = .idle
        attempted = max(attempted ?? 0, generation)
        failed = !inService
        return .record(generation: generation, outcome: outcome, reason: reason)
    }

    /// The traffic shares of the new variants, step by step: all at once when nothing
    /// serves yet; a canary's share then the rest; linear steps of `step`.
    static func shares(_ traffic: TrafficConfig, hasOld: Bool) -> [Double] {
        guard hasOld else { return [1] }
        switch traffic.mode {
        case .allAtOnce: return [1]
        case .canary: return [min(1, max(0, traffic.step)), 1]
        case .linear:
            let step = min(1, max(0.01, traffic.step))
            return Array(stride(from: step, to: 1, by: step)) + [1]
        }
    }
}
