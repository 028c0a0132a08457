import Foundation
import Registry
import Synchronization

/// Brings the endpoints the registry asks for into being in this process, and keeps them:
/// blue/green updates, autoscaling, replacing workers that die. The deployment pipeline
/// writes `endpoints/NAME` with a new generation; `run` notices, starts the new variants'
/// workers, checks they are healthy, shifts traffic (all at once, canary or linear), bakes,
/// rolls back when the new variant fails, drains the old workers, and records each step in
/// `endpoint-status/NAME`. After a restart it serves what it last applied, then goes on.
package final class EndpointManager: Sendable {
    package let home: String
    package let records: EndpointRecords
    private let log: @Sendable (String) -> Void
    private let runtimes = Mutex<[String: EndpointRuntime]>([:])
    private let workerScript: String

    /// A manager for the endpoints of `home`; `log` gets a line per notable event.
    package init(home: String, registry: Registry, log: @escaping @Sendable (String) -> Void = { _ in }) throws {
        self.home = home
        self.records = EndpointRecords(registry: registry)
        self.log = log
        guard let script = Bundle.module.url(forResource: "slipway_worker", withExtension: "py", subdirectory: "Python")?.path else {
            throw WorkerError("slipway_worker.py is missing from Slipway's installation")
        }
        workerScript = script
    }

    /// Serves a request on the named endpoint. The variant that answered is returned with
    /// the result (nil when none could).
    package func invoke(endpoint: String, _ invocation: Invocation) async -> (variant: String?, result: InvocationResult) {
        let (variant, result) = await invokeVariant(endpoint: endpoint, invocation, depth: 0)
        return (variant?.name, result)
    }

    func invokeVariant(endpoint: String, _ invocation: Invocation, depth: Int) async -> (variant: VariantConfig?, result: InvocationResult) {
        guard let runtime = runtimes.withLock({ $0[endpoint] }) else {
            let known = runtimes.withLock { $0.keys.sorted() }
            return (nil, .failure(404, "no endpoint '\(endpoint)'; endpoints here: \(known.isEmpty ? "none" : known.joined(separator: ", ")) (see `slipway endpoints list`)"))
        }
        let members = runtime.state.withLock { $0.applied?.config.members ?? [:] }
        guard !members.isEmpty else { return await runtime.invoke(invocation) }
        guard depth < 4 else { return (nil, .failure(508, "composite endpoints call each other more than 4 deep; check their compose sections")) }
        return await Composite(manager: self, runtime: runtime, members: members, depth: depth).invoke(invocation)
    }

    /// Reconciles every `interval` seconds until the task is cancelled, then drains all workers.
    package func run(interval: Double = 0.5) async {
        while !Task.isCancelled {
            await reconcile()
            try? await Task.sleep(for: .seconds(interval))
        }
        await stopAll()
    }

    /// Drains and stops every endpoint's workers.
    package func stopAll() async {
        let all = runtimes.withLock { runtimes in
            defer { runtimes.removeAll() }
            return Array(runtimes.values)
        }
        for runtime in all { for pool in runtime.pools { await pool.drain(timeout: 10) } }
    }

    /// One pass: start updates the registry asks for, stop removed endpoints, scale.
    package func reconcile() async {
        guard let desired = try? records.allDesired() else { return }
        let removed = runtimes.withLock { runtimes in
            let gone = runtimes.keys.filter { desired[$0] == nil }
            return gone.compactMap { runtimes.removeValue(forKey: $0) }
        }
        for runtime in removed {
            log("endpoint \(runtime.name): deleted; stopping its workers")
            _ = try? records.registry.delete(EndpointRecords.status, ItemKey(runtime.name))
            Task { for pool in runtime.pools { await pool.drain(timeout: 30) } }
        }
        for (name, target) in desired {
            let (runtime, isNew) = runtimes.withLock { runtimes -> (EndpointRuntime, Bool) in
                if let existing = runtimes[name] { return (existing, false) }
                let created = EndpointRuntime(name: name)
                runtimes[name] = created
                return (created, true)
            }
            if isNew, let saved = try? records.status(name), let config = EndpointConfig(json: saved["applied"]),
                let generation = saved["appliedGeneration"]?.intValue {
                // A restart: serve what was applied before, then carry on from there.
                // An update the last agent did not finish starts again once the restore is done.
                let unfinished = saved["lastUpdate"]?["outcome"] == "InProgress"
                runtime.state.withLock { state in
                    state.history = saved["history"]?.arrayValue ?? []
                    state.lastUpdate = unfinished ? .null : saved["lastUpdate"] ?? .null
                    state.updating = true
                }
                Task { await self.restore(runtime, generation: Int(generation), config: config) }
                continue
            }
            let start = runtime.state.withLock { state -> Bool in
                guard !state.updating, (state.applied?.generation ?? 0) < target.generation,
                    state.lastUpdate["generation"]?.intValue.map({ Int($0) < target.generation }) ?? true
                else { return false }
                state.updating = true
                return true
            }
            if start {
                Task { await self.update(runtime, generation: target.generation, config: target.config) }
                continue
            }
            // A newer generation asked for while workers still start: stop waiting for them.
            let abandoned = runtime.state.withLock { state -> [WorkerPool] in
                guard state.updating, let current = state.updatingGeneration, current < target.generation, !state.pending.isEmpty else { return [] }
                defer { state.pending.removeAll() }
                return state.pending
            }
            if !abandoned.isEmpty {
                runtime.event("UpdateSuperseded", "generation \(target.generation) was asked for; abandoning the workers still starting")
                abandoned.forEach { $0.abort() }
            }
            await maintain(runtime)
        }
    }

    // MARK: - Updates

    private func restore(_ runtime: EndpointRuntime, generation: Int, config: EndpointConfig) async {
        runtime.state.withLock { $0.status = "Updating" }
        save(runtime)
        do {
            let pools = try await startPools(config, for: runtime.name)
            runtime.state.withLock { state in
                state.routes = zip(pools, config.variants).map { EndpointRuntime.Route(pool: $0, weight: $1.weight) }
                state.applied = (generation, config)
                state.status = "InService"
                state.updating = false
            }
            runtime.event("Restored", "serving generation \(generation) again after a restart")
        } catch {
            runtime.state.withLock { state in
                state.status = "Failed"
                state.failureReason = "restarting generation \(generation) failed: \(error)"
                state.updating = false
            }
        }
        save(runtime)
    }

    private func update(_ runtime: EndpointRuntime, generation: Int, config: EndpointConfig) async {
        let old = runtime.state.withLock { state -> [EndpointRuntime.Route] in
            state.status = state.applied == nil ? "Creating" : "Updating"
            state.lastUpdate = ["generation": .int(Int64(generation)), "outcome": "InProgress", "at": .double(Date().timeIntervalSince1970)]
            return state.routes
        }
        runtime.event("UpdateStarted", "generation \(generation): \(config.variants.map { "\($0.model) v\($0.version)" }.joined(separator: ", "))")
        save(runtime)
        log("endpoint \(runtime.name): update to generation \(generation) started")

        runtime.state.withLock { $0.updatingGeneration = generation }
        let pools: [WorkerPool]
        do {
            pools = try await startPools(config, for: runtime.name) { pool in runtime.state.withLock { $0.pending.append(pool) } }
            runtime.state.withLock { $0.pending.removeAll() }
        } catch {
            runtime.state.withLock { $0.pending.removeAll() }
            finish(runtime, generation: generation, outcome: old.isEmpty ? "Failed" : "RolledBack",
                   reason: "the new variant did not become healthy: \(error)")
            return
        }
        let new = zip(pools, config.variants).map { EndpointRuntime.Route(pool: $0, weight: $1.weight) }
        runtime.event("HealthCheckPassed", "\(pools.map(\.variant.name).joined(separator: ", ")) loaded and answered a ping")

        // Shift traffic in the configured steps, watching the new variant's errors.
        let traffic = config.traffic
        var shares: [Double] = [1]
        if !old.isEmpty && traffic.mode == .canary { shares = [min(1, max(0, traffic.step)), 1] }
        if !old.isEmpty && traffic.mode == .linear {
            let step = min(1, max(0.01, traffic.step))
            shares = Array(stride(from: step, to: 1, by: step)) + [1]
        }
        for share in shares {
            runtime.state.withLock { $0.routes = Self.mix(old: old, new: new, share: share) }
            pools.forEach { $0.resetCounts() }
            runtime.event("TrafficShifted", "\(Int((share * 100).rounded()))% to generation \(generation)")
            save(runtime)
            if let failure = await bake(pools, traffic) {
                runtime.state.withLock { $0.routes = old }
                runtime.event("RollingBack", failure)
                runtime.state.withLock { $0.status = "RollingBack" }
                save(runtime)
                for pool in pools { await pool.drain() }
                finish(runtime, generation: generation, outcome: "RolledBack", reason: failure)
                return
            }
        }
        // The old workers finish what they hold, then stop.
        for route in old { await route.pool.drain() }
        runtime.state.withLock { $0.applied = (generation, config) }
        finish(runtime, generation: generation, outcome: "Succeeded", reason: nil)
    }

    /// Routes `share` of the traffic to the new variants and the rest to the old ones, each
    /// side keeping its variants' relative weights.
    static func mix(old: [EndpointRuntime.Route], new: [EndpointRuntime.Route], share: Double) -> [EndpointRuntime.Route] {
        func scaled(_ routes: [EndpointRuntime.Route], _ part: Double) -> [EndpointRuntime.Route] {
            let total = routes.reduce(0) { $0 + $1.weight }
            return routes.map { EndpointRuntime.Route(pool: $0.pool, weight: total > 0 ? $0.weight / total * part : 0) }
        }
        if share >= 1 || old.isEmpty { return scaled(new, 1) }
        return scaled(old, 1 - share) + scaled(new, share)
    }

    /// Waits the bake time; returns why the update must roll back, if it must.
    private func bake(_ pools: [WorkerPool], _ traffic: TrafficConfig) async -> String? {
        let deadline = Date().addingTimeInterval(traffic.bakeSeconds)
        repeat {
            for pool in pools {
                let (requests, errors) = pool.counts
                if requests >= traffic.minimumRequests, Double(errors) / Double(requests) > traffic.errorThreshold {
                    return "variant '\(pool.variant.name)' answered \(errors) of \(requests) requests with an error during the bake (threshold \(Int(traffic.errorThreshold * 100))%)"
                }
            }
            guard Date() < deadline else { return nil }
            try? await Task.sleep(for: .milliseconds(100))
        } while true
    }

    private func finish(_ runtime: EndpointRuntime, generation: Int, outcome: String, reason: String?) {
        runtime.state.withLock { state in
            var update: [String: JSONValue] = ["generation": .int(Int64(generation)), "outcome": .string(outcome), "at": .double(Date().timeIntervalSince1970)]
            if let reason { update["reason"] = .string(reason) }
            state.lastUpdate = .object(update)
            state.status = state.routes.isEmpty ? "Failed" : "InService"
            state.failureReason = outcome == "Succeeded" ? nil : reason
            state.updating = false
            state.updatingGeneration = nil
        }
        runtime.event("Update\(outcome)", reason ?? "generation \(generation) in service")
        save(runtime)
        log("endpoint \(runtime.name): generation \(generation) \(outcome)\(reason.map { ": \($0)" } ?? "")")
    }

    private func startPools(_ config: EndpointConfig, for endpoint: String, created: (WorkerPool) -> Void = { _ in }) async throws -> [WorkerPool] {
        var pools: [WorkerPool] = []
        do {
            for variant in config.variants {
                let logs = home + "/endpoints/" + endpoint
                try FileManager.default.createDirectory(atPath: logs, withIntermediateDirectories: true)
                let spec = WorkerSpec(code: variant.code, script: variant.script, python: variant.python,
                                      modelFolder: try ModelFolders(home: home).unpacked(variant.modelArchive, digest: variant.modelDigest),
                                      workerScript: workerScript, memoryBytes: variant.memoryBytes, logFile: logs + "/\(variant.name).log")
                let pool = WorkerPool(variant: variant, spec: spec, log: log)
                pools.append(pool)
                created(pool)
                let count = min(max(variant.workers, config.autoscaling.minWorkers, 1), max(config.autoscaling.maxWorkers, 1))
                try await pool.grow(by: count, healthTimeout: config.traffic.healthTimeout)
            }
            return pools
        } catch {
            for pool in pools { await pool.drain(timeout: 0) }
            throw error
        }
    }

    // MARK: - Autoscaling and repair

    /// Replaces dead workers and scales each pool toward `targetInFlight` per worker.
    private func maintain(_ runtime: EndpointRuntime) async {
        let (config, routes, busy) = runtime.state.withLock { ($0.applied?.config, $0.routes, $0.updating || $0.scaling) }
        guard let config, !busy else { return }
        let scaling = records.autoscaling(runtime.name) ?? config.autoscaling
        for route in routes {
            let dead = route.pool.pruneDead()
            if dead > 0 { runtime.event("WorkerExited", "\(dead) worker\(dead == 1 ? "" : "s") of \(route.pool.variant.name) exited; replacing") }
            let id = ObjectIdentifier(route.pool)
            let average = runtime.state.withLock { state -> Double in
                var samples = state.samples[id] ?? []
                samples.append(route.pool.inFlight)
                if samples.count > 6 { samples.removeFirst(samples.count - 6) }
                state.samples[id] = samples
                return Double(samples.reduce(0, +)) / Double(samples.count)
            }
            let current = route.pool.plannedCount
            let wanted = min(max(Int((average / max(scaling.targetInFlight, 0.1)).rounded(.up)), scaling.minWorkers, 1), max(scaling.maxWorkers, 1))
            let cooled = runtime.state.withLock { Date().timeIntervalSince($0.lastScale) >= scaling.scaleInCooldown }
            if wanted > current {
                runtime.state.withLock { $0.scaling = true; $0.lastScale = Date() }
                runtime.event("ScaledOut", "\(route.pool.variant.name): \(current) → \(wanted) workers (\(String(format: "%.1f", average)) in flight)")
                save(runtime)
                let pool = route.pool
                Task {
                    do { try await pool.grow(by: wanted - current, healthTimeout: config.traffic.healthTimeout) } catch {
                        runtime.event("ScaleOutFailed", "\(error)")
                    }
                    runtime.state.withLock { $0.scaling = false }
                    self.save(runtime)
                }
                return
            }
            if wanted < current && cooled && dead == 0 {
                route.pool.shrink(by: 1)
                runtime.state.withLock { $0.lastScale = Date() }
                runtime.event("ScaledIn", "\(route.pool.variant.name): \(current) → \(current - 1) workers (\(String(format: "%.1f", average)) in flight)")
                save(runtime)
            } else if dead > 0 {
                save(runtime)
            }
        }
    }

    private func save(_ runtime: EndpointRuntime) {
        // A deleted endpoint keeps no status.
        guard runtimes.withLock({ $0[runtime.name] === runtime }) else { return }
        // Snapshot and write under one lock, so that an older snapshot never lands last.
        runtime.saving.withLock { _ in records.writeStatus(runtime.name, runtime.record()) }
    }
}

/// Trained models unpacked once each, at `HOME/models/DIGEST`, read-only to workers.
struct ModelFolders {
    let home: String

    func unpacked(_ archive: String, digest: String) throws -> String {
        let folder = home + "/models/" + (archive.isEmpty ? "empty" : digest)
        if FileManager.default.fileExists(atPath: folder) { return folder }
        if archive.isEmpty {
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            return folder
        }
        let scratch = folder + ".partial-\(getpid())-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
        let tar = Process()
        tar.executableURL = URL(fileURLWithPath: "/bin/tar")
        tar.arguments = ["-xzf", archive, "-C", scratch]
        try tar.run()
        tar.waitUntilExit()
        guard tar.terminationStatus == 0 else {
            try? FileManager.default.removeItem(atPath: scratch)
            throw WorkerError("cannot unpack the model '\(archive)' (tar exited with \(tar.terminationStatus))")
        }
        if rename(scratch, folder) != 0 { try? FileManager.default.removeItem(atPath: scratch) }  // another process won the race
        return folder
    }
}
