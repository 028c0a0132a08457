import Foundation
import Logging
import Registry
import ServiceLifecycle
import Synchronization

/// Brings the endpoints the registry asks for into being in this process, and keeps them:
/// blue/green updates, autoscaling, replacing workers that die. The deployment pipeline
/// writes `endpoints/NAME` with a new generation; `run` notices, starts the new variants'
/// workers, checks they are healthy, shifts traffic (all at once, canary or linear), bakes,
/// rolls back when the new variant fails, drains the old workers, and records each step in
/// `endpoint-status/NAME`. After a restart it serves what it last applied, then goes on.
///
/// A swift-service-lifecycle `Service`: `run` owns one task group in which every update,
/// restore, drain, scale-out and worker lives; it returns on graceful shutdown (or
/// cancellation) once every worker has stopped.
package final class EndpointManager: Service, Sendable {
    /// The Slipway home whose endpoints this manager serves.
    package let home: String
    /// The registry's endpoint tables: the desired configurations it reads, the statuses it writes.
    package let records: EndpointRecords
    /// The time between two looks at the registry.
    package let interval: Duration
    let logger: Logger
    let clock: ServingClock
    let limits: WorkerLimits
    let runtimes = Mutex<[String: EndpointRuntime]>([:])
    private let workerScript: String
    private let launcher: any WorkerLauncher
    private let jobs: AsyncStream<@Sendable () async -> Void>
    private let jobSink: AsyncStream<@Sendable () async -> Void>.Continuation

    /// A manager for the endpoints of `home`, logging to `logger`, waiting on `clock`.
    package convenience init(home: String, registry: Registry, logger: Logger, clock: any Clock<Duration> = ContinuousClock(),
                             interval: Duration = .milliseconds(500), limits: WorkerLimits = WorkerLimits()) throws {
        try self.init(home: home, registry: registry, logger: logger, clock: ServingClock(clock), interval: interval, limits: limits,
                      launcher: SandboxWorkerLauncher())
    }

    /// A manager whose workers come from `launcher` (tests: in memory).
    init(home: String, registry: Registry, logger: Logger, clock: ServingClock, interval: Duration, limits: WorkerLimits,
         launcher: any WorkerLauncher) throws {
        self.home = home
        self.records = EndpointRecords(registry: registry)
        self.logger = logger
        self.clock = clock
        self.interval = interval
        self.limits = limits
        self.launcher = launcher
        guard let script = Bundle.module.url(forResource: "slipway_worker", withExtension: "py", subdirectory: "Python")?.path else {
            throw WorkerError("slipway_worker.py is missing from Slipway's installation (expected in the Serving resources' 'Python' folder)")
        }
        workerScript = script
        (jobs, jobSink) = AsyncStream.makeStream(of: (@Sendable () async -> Void).self)
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
            return (nil, .failure(404, "no endpoint '\(endpoint)'; endpoints here: \(known.isEmpty ? "none" : known.joined(separator: ", ")) (see `slipway endpoints list`)", .client))
        }
        let members = runtime.state.withLock { $0.applied?.members ?? [:] }
        guard !members.isEmpty else { return await runtime.invoke(invocation) }
        guard depth < 4 else { return (nil, .failure(508, "composite endpoints call each other more than 4 deep; check their compose sections", .model)) }
        return await Composite(manager: self, runtime: runtime, members: members, depth: depth).invoke(invocation)
    }

    /// Reconciles every `interval` until graceful shutdown or cancellation, then drains every
    /// endpoint's workers and returns once all of them, and every update, have ended. Call it once.
    package func run() async throws {
        await withDiscardingTaskGroup { group in
            group.addTask {
                try? await cancelWhenGracefulShutdown {
                    while !Task.isCancelled {
                        await self.reconcile()
                        try await self.clock.sleep(for: self.interval)
                    }
                }
                await self.stopAll()
                self.jobSink.finish()
            }
            for await job in jobs { group.addTask { await job() } }
            // Updates still waiting (a bake, a health check) end now; their workers with them.
            group.cancelAll()
        }
        logger.info("endpoint manager stopped")
    }

    /// Runs `job` in `run`'s task group; false once the manager has stopped.
    @discardableResult
    func submit(_ job: @escaping @Sendable () async -> Void) -> Bool {
        if case .enqueued = jobSink.yield(job) { return true }
        return false
    }

    /// Drains and stops every endpoint's workers (the end of `run`).
    private func stopAll() async {
        let all = runtimes.withLock { runtimes in
            defer { runtimes.removeAll() }
            return Array(runtimes.values)
        }
        await withDiscardingTaskGroup { group in
            for runtime in all { group.addTask { await self.stop(runtime, drain: .seconds(10)) } }
        }
    }

    /// Aborts the pools an update still starts and drains those that serve.
    func stop(_ runtime: EndpointRuntime, drain timeout: Duration) async {
        let (serving, starting) = runtime.state.withLock { ($0.routes.map(\.pool) + $0.old.map(\.pool), $0.new) }
        starting.forEach { $0.abort() }
        let all = (serving + starting).reduce(into: [WorkerPool]()) { all, pool in if !all.contains(where: { $0 === pool }) { all.append(pool) } }
        await withDiscardingTaskGroup { group in
            for pool in all { group.addTask { await pool.drain(timeout: timeout) } }
        }
    }

    /// One pass: start updates the registry asks for, stop removed endpoints, scale.
    package func reconcile() async {
        let desired: [String: (generation: Int, config: EndpointConfig)]
        do {
            desired = try records.allDesired()
        } catch {
            logger.error("cannot read the desired endpoints; trying again in \(interval)", metadata: ["error.message": "\(error)"])
            return
        }
        let removed = runtimes.withLock { runtimes in
            let gone = runtimes.keys.filter { desired[$0] == nil }
            return gone.compactMap { runtimes.removeValue(forKey: $0) }
        }
        for runtime in removed {
            logger.info("endpoint deleted; stopping its workers", metadata: ["endpoint.name": "\(runtime.name)"])
            do { _ = try records.registry.delete(EndpointRecords.status, ItemKey(runtime.name)) } catch {
                logger.error("cannot remove the status of a deleted endpoint", metadata: ["endpoint.name": "\(runtime.name)", "error.message": "\(error)"])
            }
            submit { await self.stop(runtime, drain: .seconds(30)) }
        }
        for (name, target) in desired.sorted(by: { $0.key < $1.key }) {
            let (runtime, isNew) = runtimes.withLock { runtimes -> (EndpointRuntime, Bool) in
                if let existing = runtimes[name] { return (existing, false) }
                let created = EndpointRuntime(name: name)
                runtimes[name] = created
                return (created, true)
            }
            if isNew, let action = restart(runtime) {
                submit { await self.drive(runtime, action) }
                continue
            }
            let action = runtime.state.withLock { state -> UpdateMachine.Action in
                let action = state.machine.desired(generation: target.generation, traffic: target.config.traffic)
                if case .startPools = action { state.target = target.config }
                return action
            }
            if action == .none {
                await maintain(runtime)
            } else {
                submit { await self.drive(runtime, action) }
            }
        }
    }

    /// A runtime made for an endpoint this home already served: restore what it applied.
    private func restart(_ runtime: EndpointRuntime) -> UpdateMachine.Action? {
        let saved: [String: JSONValue]?
        do { saved = try records.status(runtime.name) } catch {
            logger.error("cannot read the endpoint's last status; starting it afresh", metadata: ["endpoint.name": "\(runtime.name)", "error.message": "\(error)"])
            return nil
        }
        guard let saved, let config = EndpointConfig(json: saved["applied"]), let generation = saved["appliedGeneration"]?.intValue else { return nil }
        // An update the last agent did not finish starts again once the restore is done.
        let unfinished = saved["lastUpdate"]?["outcome"] == "InProgress"
        return runtime.state.withLock { state in
            state.history = saved["history"]?.arrayValue ?? []
            state.lastUpdate = unfinished ? .null : saved["lastUpdate"] ?? .null
            state.target = config
            let last = unfinished ? nil : saved["lastUpdate"]?["generation"]?.intValue.map { Int($0) }
            return state.machine.restarted(applied: Int(generation), lastGeneration: last)
        }
    }

    /// Writes the endpoint's status record (not for a deleted endpoint).
    func save(_ runtime: EndpointRuntime) {
        guard runtimes.withLock({ $0[runtime.name] === runtime }) else { return }
        // Snapshot and write under one lock, so that an older snapshot never lands last.
        runtime.saving.withLock { _ in records.writeStatus(runtime.name, runtime.record()) }
    }

    /// The manager's log with the endpoint named.
    func logger(_ runtime: EndpointRuntime) -> Logger {
        var logger = self.logger
        logger[metadataKey: "endpoint.name"] = "\(runtime.name)"
        return logger
    }

    /// Starts a pool per variant of `config` (each announced to `created` first, so that a
    /// newer generation can abort it) and waits for their workers' health checks. On failure
    /// every pool started is stopped.
    func startPools(_ config: EndpointConfig, for runtime: EndpointRuntime, created: (WorkerPool) -> Void = { _ in }) async throws -> [WorkerPool] {
        var pools: [WorkerPool] = []
        let context = PoolContext(launcher: launcher, clock: clock, limits: limits, spawn: { self.submit($0) }, logger: logger(runtime))
        do {
            for variant in config.variants {
                let logs = home + "/endpoints/" + runtime.name
                try FileManager.default.createDirectory(atPath: logs, withIntermediateDirectories: true)
                let spec = WorkerSpec(code: variant.code, script: variant.script, python: variant.python,
                                      modelFolder: try await ModelFolders(home: home).unpacked(variant.modelArchive, digest: variant.modelDigest),
                                      workerScript: workerScript, memoryBytes: variant.memoryBytes, logFile: logs + "/\(variant.name).log")
                let pool = WorkerPool(variant: variant, spec: spec, context: context)
                pools.append(pool)
                created(pool)
                let count = min(max(variant.workers, config.autoscaling.minWorkers, 1), max(config.autoscaling.maxWorkers, 1))
                try await pool.grow(by: count, healthTimeout: .seconds(config.traffic.healthTimeout))
            }
            return pools
        } catch {
            for pool in pools { await pool.drain(timeout: .zero) }
            throw error
        }
    }
}
