import Foundation
import Logging
import Registry

/// The update machine's driver: performs each action, turns what came of it into the next
/// event, until the machine has nothing more to do.
extension EndpointManager {
    /// What an action came to: the event to feed the machine (with the runtime's state, to
    /// change both at once), or nil when the machine waits for something else.
    typealias Outcome = @Sendable (inout EndpointRuntime.State) -> UpdateMachine.Action

    /// Performs `action` and those that follow it. An endpoint deleted meanwhile stops
    /// there, and every pool it started is drained.
    func drive(_ runtime: EndpointRuntime, _ action: UpdateMachine.Action) async {
        var action = action
        while let event = await perform(action, on: runtime) {
            action = runtime.state.withLock { event(&$0) }
            guard runtimes.withLock({ $0[runtime.name] === runtime }) else {
                await stop(runtime, drain: .seconds(30))
                return
            }
        }
    }

    private func perform(_ action: UpdateMachine.Action, on runtime: EndpointRuntime) async -> Outcome? {
        let logger = logger(runtime)
        switch action {
        case .none:
            return nil

        case .restore(let generation):
            let config = runtime.state.withLock { $0.target }
            save(runtime)
            do {
                guard let config else { throw WorkerError("no configuration was saved for generation \(generation)") }
                let pools = try await startPools(config, for: runtime)
                let routes = zip(pools, config.variants).map { EndpointRuntime.Route(pool: $0, weight: $1.weight) }
                return { state in
                    state.routes = routes
                    state.applied = config
                    return state.machine.restored(generation: generation, failure: nil)
                }
            } catch {
                let failure = "\(error)"
                return { $0.machine.restored(generation: generation, failure: failure) }
            }

        case .recordRestore(let generation, let failure):
            if let failure {
                runtime.state.withLock { $0.failureReason = failure }
                runtime.event("RestoreFailed", failure)
                logger.error("restoring the endpoint failed", metadata: ["endpoint.generation": "\(generation)", "error.message": "\(failure)"])
            } else {
                runtime.event("Restored", "serving generation \(generation) again after a restart")
                logger.info("endpoint restored", metadata: ["endpoint.generation": "\(generation)"])
            }
            save(runtime)
            return nil

        case .startPools(let generation):
            let config = runtime.state.withLock { state -> EndpointConfig? in
                state.old = state.routes
                state.new = []
                state.lastUpdate = ["generation": .int(Int64(generation)), "outcome": "InProgress", "at": .double(Date().timeIntervalSince1970)]
                return state.target
            }
            guard let config else { return { $0.machine.poolsFailed(generation: generation, reason: "its configuration is missing") } }
            runtime.event("UpdateStarted", "generation \(generation): \(config.variants.map { "\($0.model) v\($0.version)" }.joined(separator: ", "))")
            save(runtime)
            logger.info("update started", metadata: ["endpoint.generation": "\(generation)"])
            do {
                let pools = try await startPools(config, for: runtime) { pool in runtime.state.withLock { $0.new.append(pool) } }
                runtime.event("HealthCheckPassed", "\(pools.map(\.variant.name).joined(separator: ", ")) loaded and answered a ping")
                return { state in
                    state.new = pools
                    return state.machine.poolsStarted(generation: generation)
                }
            } catch {
                let reason = "\(error)"
                return { state in
                    state.new = []
                    return state.machine.poolsFailed(generation: generation, reason: reason)
                }
            }

        case .abandonStarting(let generation, let newer):
            let starting = runtime.state.withLock { $0.new }
            runtime.event("UpdateSuperseded", "generation \(newer) was asked for; abandoning the workers of generation \(generation) still starting")
            starting.forEach { $0.abort() }
            return nil

        case .shiftTraffic(let generation, let share):
            let counts = runtime.state.withLock { state -> [UpdateMachine.Counts] in
                let weights = state.target?.variants.map(\.weight) ?? []
                let new = zip(state.new, weights).map { EndpointRuntime.Route(pool: $0, weight: $1) }
                state.routes = EndpointRuntime.mix(old: state.old, new: new, share: share)
                state.new.forEach { $0.resetCounts() }
                return state.new.map(\.counts)
            }
            runtime.event("TrafficShifted", "\(Int((share * 100).rounded()))% to generation \(generation)")
            save(runtime)
            return { $0.machine.bakeChecked(generation: generation, waited: .zero, counts: counts) }

        case .wait(let generation, let duration):
            do { try await clock.sleep(for: duration) } catch { return nil }  // the manager stops
            let counts = runtime.state.withLock { $0.new.map(\.counts) }
            return { $0.machine.bakeChecked(generation: generation, waited: duration, counts: counts) }

        case .rollBack(let generation, let reason):
            let new = runtime.state.withLock { state -> [WorkerPool] in
                state.routes = state.old
                return state.new
            }
            runtime.event("RollingBack", reason)
            save(runtime)
            for pool in new { await pool.drain(timeout: limits.drainTimeout) }
            return { state in
                state.new = []
                state.old = []
                state.scalers = [:]
                return state.machine.rolledBack(generation: generation)
            }

        case .drainOld(let generation):
            let old = runtime.state.withLock { $0.old }
            for route in old { await route.pool.drain(timeout: limits.drainTimeout) }
            return { state in
                state.applied = state.target
                state.old = []
                state.new = []
                state.scalers = [:]
                return state.machine.oldDrained(generation: generation)
            }

        case .record(let generation, let outcome, let reason):
            runtime.state.withLock { state in
                var update: [String: JSONValue] = ["generation": .int(Int64(generation)), "outcome": .string(outcome.rawValue),
                                                   "at": .double(Date().timeIntervalSince1970)]
                if let reason { update["reason"] = .string(reason) }
                state.lastUpdate = .object(update)
                state.failureReason = outcome == .succeeded ? nil : reason
            }
            runtime.event("Update\(outcome.rawValue)", reason ?? "generation \(generation) in service")
            save(runtime)
            logger.info("update ended", metadata: ["endpoint.generation": "\(generation)", "update.outcome": "\(outcome.rawValue)",
                                                    "update.reason": "\(reason ?? "")"])
            return nil
        }
    }
}
