import Foundation
import Logging

/// Autoscaling and repair: each reconcile feeds every serving pool's load to its
/// ``Scaler`` and carries out the decision (a scale-out runs in the manager's group).
extension EndpointManager {
    /// Replaces dead workers and scales each pool toward `targetInFlight` per worker.
    func maintain(_ runtime: EndpointRuntime) async {
        let (config, routes, busy) = runtime.state.withLock { ($0.applied, $0.routes, $0.machine.isBusy || $0.scaling) }
        guard let config, !busy else { return }
        let policy = records.autoscaling(runtime.name) ?? config.autoscaling
        for route in routes {
            let pool = route.pool
            let dead = pool.pruneDead()
            if dead > 0 { runtime.event("WorkerExited", "\(dead) worker\(dead == 1 ? "" : "s") of \(pool.variant.name) exited; replacing") }
            let id = ObjectIdentifier(pool)
            let (inFlight, planned, now) = (pool.inFlight, pool.plannedCount, clock.now())
            let (decision, previous) = runtime.state.withLock { state -> (Scaler.Decision, Duration?) in
                let previous = state.scalers[id]?.lastChange
                let decision = state.scalers[id, default: Scaler()].observe(inFlight: inFlight, planned: planned, dead: dead, now: now, policy: policy)
                if case .scaleOut = decision { state.scaling = true }
                return (decision, previous)
            }
            switch decision {
            case .scaleOut(let from, let to, let average):
                runtime.event("ScaledOut", "\(pool.variant.name): \(from) → \(to) workers (\(String(format: "%.1f", average)) in flight)")
                save(runtime)
                let started = submit {
                    do { try await pool.grow(by: to - from, healthTimeout: .seconds(config.traffic.healthTimeout)) } catch {
                        runtime.event("ScaleOutFailed", "\(error)")
                    }
                    runtime.state.withLock { $0.scaling = false }
                    self.save(runtime)
                }
                if !started { runtime.state.withLock { $0.scaling = false } }
                return
            case .scaleIn(let from, let to, let average):
                if pool.shrink(by: 1) == 1 {
                    runtime.event("ScaledIn", "\(pool.variant.name): \(from) → \(to) workers (\(String(format: "%.1f", average)) in flight)")
                    save(runtime)
                } else {
                    // Every worker holds a request: none is stopped, and the cooldown does not restart.
                    runtime.state.withLock { $0.scalers[id]?.scaleInSkipped(previous: previous) }
                }
            case .none:
                if dead > 0 { save(runtime) }
            }
        }
    }
}
