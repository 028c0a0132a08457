import Foundation
import Registry
import Synchronization

/// One endpoint in the agent: its traffic routes (pools with weights), its update machine,
/// what it has applied, and its recent events. The manager changes it; requests read its
/// routes.
final class EndpointRuntime: Sendable {
    let name: String
    struct Route {
        var pool: WorkerPool
        var weight: Double
    }
    struct State {
        var routes: [Route] = []
        var machine = UpdateMachine()
        /// The configuration in service and the one being applied.
        var applied: EndpointConfig?
        var target: EndpointConfig?
        /// Routes before the update under way, and the pools it started (or still starts).
        var old: [Route] = []
        var new: [WorkerPool] = []
        /// A scale-out under way (one at a time per endpoint).
        var scaling = false
        var scalers: [ObjectIdentifier: Scaler] = [:]
        var lastUpdate: JSONValue = .null
        var failureReason: String?
        var history: [JSONValue] = []
    }
    let state = Mutex(State())
    /// Held while the status record is written.
    let saving = Mutex(())

    init(name: String) { self.name = name }

    /// The pools that take traffic now.
    var pools: [WorkerPool] { state.withLock { $0.routes.map(\.pool) } }

    /// Serves a request on a variant chosen by weight. A pool that began draining after it
    /// was chosen refuses, and the choice is made again from the routes of that moment.
    func invoke(_ invocation: Invocation) async -> (variant: VariantConfig?, result: InvocationResult) {
        for _ in 0..<5 {
            guard let pool = pick() else { break }
            if let result = await pool.invoke(invocation) { return (pool.variant, result) }
        }
        let status = state.withLock { $0.machine.status }
        return (nil, .failure(503, "endpoint '\(name)' has no variant in service (status \(status)); see `slipway endpoints describe \(name)`", .unavailable))
    }

    private func pick() -> WorkerPool? {
        state.withLock { state in
            let routes = state.routes.filter { $0.weight > 0 }
            let total = routes.reduce(0) { $0 + $1.weight }
            guard total > 0 else { return nil }
            var point = Double.random(in: 0..<total)
            for route in routes {
                if point < route.weight { return route.pool }
                point -= route.weight
            }
            return routes.last?.pool
        }
    }

    /// Adds an event to the endpoint's recent history (the last 30 are kept).
    func event(_ type: String, _ detail: String) {
        state.withLock { state in
            state.history.append(["at": .string(ISO8601DateFormatter().string(from: Date())), "event": .string(type), "detail": .string(detail)])
            if state.history.count > 30 { state.history.removeFirst(state.history.count - 30) }
        }
    }

    /// What `endpoint-status/NAME` should say now.
    func record() -> [String: JSONValue] {
        state.withLock { state in
            let total = state.routes.reduce(0) { $0 + $1.weight }
            var record: [String: JSONValue] = [
                "status": .string(state.machine.status),
                "serving": .array(state.routes.map { route in
                    ["variant": .string(route.pool.variant.name), "model": .string(route.pool.variant.model),
                     "version": .int(Int64(route.pool.variant.version)), "workers": .int(Int64(route.pool.plannedCount)),
                     "weight": .double(total > 0 ? (route.weight / total * 1000).rounded() / 1000 : 0)]
                }),
                "lastUpdate": state.lastUpdate, "history": .array(state.history), "updatedAt": .double(Date().timeIntervalSince1970),
            ]
            if let generation = state.machine.applied, let applied = state.applied {
                record["appliedGeneration"] = .int(Int64(generation))
                record["applied"] = applied.json
            }
            if let reason = state.failureReason { record["failureReason"] = .string(reason) }
            return record
        }
    }

    /// Routes `share` of the traffic to the new variants and the rest to the old ones, each
    /// side keeping its variants' relative weights.
    static func mix(old: [Route], new: [Route], share: Double) -> [Route] {
        func scaled(_ routes: [Route], _ part: Double) -> [Route] {
            let total = routes.reduce(0) { $0 + $1.weight }
            return routes.map { Route(pool: $0.pool, weight: total > 0 ? $0.weight / total * part : 0) }
        }
        if share >= 1 || old.isEmpty { return scaled(new, 1) }
        return scaled(old, 1 - share) + scaled(new, share)
    }
}
