import Foundation
import Logging
import Registry
import ServiceLifecycle
import Synchronization
import Testing
@testable import Serving

/// The manager with in-memory workers on a manual clock: whole updates in milliseconds.
@Suite struct EndpointManagerTests {
    struct Setup: Sendable {
        let manager: EndpointManager
        let clock: ManualClock
        let launcher: MemoryLauncher
        let records: EndpointRecords

        /// A variant whose workers answer `{"version": N}`, or fail when `broken`.
        func variant(_ version: Int, broken: Bool = false) -> VariantConfig {
            VariantConfig(name: "demand-v\(version)", model: "demand", version: version, code: broken ? "broken" : "/code",
                          script: "serve.py", python: "/usr/bin/python3", modelArchive: "", modelDigest: "")
        }

        /// Moves the clock on `step` at a time (letting the woken tasks run) until `condition` holds.
        func advance(until condition: () throws -> Bool, step: Duration = .milliseconds(100)) async rethrows -> Bool {
            for _ in 0..<5000 {
                if try condition() { return true }
                clock.advance(by: step)
                try? await Task.sleep(for: .microseconds(200))
            }
            return try condition()
        }

        /// Asks for `config` and moves the clock until the update has an outcome.
        func deploy(_ config: EndpointConfig) async throws -> [String: JSONValue] {
            let generation = try records.beginUpdate("prices", config: config, by: "test")
            var status: [String: JSONValue] = [:]
            let settled = try await advance(until: {
                status = try records.status("prices") ?? [:]
                return status["lastUpdate"]?["generation"]?.intValue == Int64(generation) && status["lastUpdate"]?["outcome"] != "InProgress"
            })
            #expect(settled, "generation \(generation) did not settle: \(status)")
            return status
        }

        func invoke() async -> (variant: String?, result: InvocationResult) {
            await manager.invoke(endpoint: "prices", Invocation(body: Array("[1]".utf8), contentType: "application/json", accept: ""))
        }

        func events() throws -> [String] {
            (try records.status("prices")?["history"]?.arrayValue ?? []).compactMap { $0["event"]?.stringValue }
        }
    }

    func withManager(_ body: (Setup) async throws -> Void) async throws {
        var template = Array((NSTemporaryDirectory() + "slipway-manager-XXXXXX").utf8CString)
        let root = String(cString: mkdtemp(&template)!)
        defer { try? FileManager.default.removeItem(atPath: root) }
        let registry = try Registry(home: root)
        let clock = ManualClock()
        let launcher = MemoryLauncher { spec, request in
            spec.code == "broken" ? ["error": "ValueError: predicts nothing"] : ["code": .string(spec.code), "request": request]
        }
        let quiet = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })
        let manager = try EndpointManager(home: root, registry: registry, logger: quiet, clock: ServingClock(clock), interval: .milliseconds(100),
                                          limits: WorkerLimits(), launcher: launcher)
        let group = ServiceGroup(configuration: .init(services: [manager], logger: quiet))
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            var failure: (any Error)?
            do { try await body(Setup(manager: manager, clock: clock, launcher: launcher, records: EndpointRecords(registry: registry))) } catch {
                failure = error
            }
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
            if let failure { throw failure }
        }
        #expect(launcher.live == 0, "graceful shutdown leaves no worker running")
    }

    @Test func aLinearUpdateBakesOnTheClockAndDrainsTheOldWorkers() async throws {
        try await withManager { setup in
            let first = try await setup.deploy(EndpointConfig(variants: [setup.variant(1)]))
            #expect(first["status"] == "InService" && first["lastUpdate"]?["outcome"] == "Succeeded", "\(first)")
            #expect(await setup.invoke().variant == "demand-v1")
            var next = EndpointConfig(variants: [setup.variant(2)])
            next.traffic.mode = .linear
            next.traffic.step = 0.5
            next.traffic.bakeSeconds = 3  // per step, on the manual clock
            let status = try await setup.deploy(next)
            #expect(status["lastUpdate"]?["outcome"] == "Succeeded", "\(status)")
            #expect(status["appliedGeneration"] == 2)
            let shifts = (status["history"]?.arrayValue ?? []).filter { $0["event"] == "TrafficShifted" }.compactMap { $0["detail"]?.stringValue }
            #expect(shifts.suffix(2) == ["50% to generation 2", "100% to generation 2"], "\(shifts)")
            #expect(await setup.invoke().variant == "demand-v2")
            #expect(await eventually { setup.launcher.live == 1 }, "the old worker was drained")
        }
    }

    @Test func aCanaryAnsweringErrorsIsRolledBackAndTheOldVersionServes() async throws {
        try await withManager { setup in
            _ = try await setup.deploy(EndpointConfig(variants: [setup.variant(1)]))
            var canary = EndpointConfig(variants: [setup.variant(2, broken: true)])
            canary.traffic.mode = .canary
            canary.traffic.step = 0.5
            canary.traffic.bakeSeconds = 3600
            let generation = try setup.records.beginUpdate("prices", config: canary, by: "test")
            #expect(try await setup.advance(until: { try setup.events().last == "TrafficShifted" }))
            // Traffic during the bake (the clock stands still): some of it reaches the canary, which fails.
            var answers: [String?] = []
            for _ in 0..<40 { answers.append(await setup.invoke().variant) }
            #expect(answers.contains("demand-v2"), "the canary took some traffic")
            var status: [String: JSONValue] = [:]
            #expect(try await setup.advance(until: {
                status = try setup.records.status("prices") ?? [:]
                return status["lastUpdate"]?["generation"]?.intValue == Int64(generation) && status["lastUpdate"]?["outcome"] != "InProgress"
            }))
            #expect(status["lastUpdate"]?["outcome"] == "RolledBack", "\(status)")
            #expect(status["lastUpdate"]?["reason"]?.stringValue?.contains("during the bake") == true)
            #expect(status["status"] == "InService")
            #expect(try setup.events().suffix(2) == ["RollingBack", "UpdateRolledBack"])
            for _ in 0..<5 { #expect(await setup.invoke().variant == "demand-v1") }
            #expect(await eventually { setup.launcher.live == 1 }, "the canary's worker was drained")
        }
    }

    @Test func aNewerGenerationAbandonsWorkersStillStarting() async throws {
        try await withManager { setup in
            _ = try await setup.deploy(EndpointConfig(variants: [setup.variant(1)]))
            var stuck = setup.variant(2)
            stuck.code = "never-loads"
            let abandoned = try setup.records.beginUpdate("prices", config: EndpointConfig(variants: [stuck]), by: "test")
            #expect(try await setup.advance(until: { try setup.events().last == "UpdateStarted" }))
            let status = try await setup.deploy(EndpointConfig(variants: [setup.variant(3)]))
            #expect(status["lastUpdate"]?["outcome"] == "Succeeded", "\(status)")
            #expect(status["appliedGeneration"] == .int(Int64(abandoned + 1)))
            let events = try setup.events()
            #expect(events.contains("UpdateSuperseded") && events.contains("UpdateRolledBack"), "\(events)")
            #expect(await setup.invoke().variant == "demand-v3")
        }
    }

    @Test func anEndpointDeletedDuringAnUpdateLeavesNoWorker() async throws {
        try await withManager { setup in
            _ = try await setup.deploy(EndpointConfig(variants: [setup.variant(1)]))
            var canary = EndpointConfig(variants: [setup.variant(2)])
            canary.traffic.mode = .canary
            canary.traffic.bakeSeconds = 3600
            _ = try setup.records.beginUpdate("prices", config: canary, by: "test")
            #expect(try await setup.advance(until: { try setup.events().last == "TrafficShifted" }))
            #expect(setup.launcher.live == 2)
            #expect(try setup.records.delete("prices"))
            #expect(try await setup.advance(until: { try setup.records.status("prices") == nil && setup.launcher.live == 0 }))
            #expect(await setup.invoke().result.status == 404)
        }
    }

    @Test func cancellingRunEndsEveryUpdateAndWorker() async throws {
        var template = Array((NSTemporaryDirectory() + "slipway-manager-XXXXXX").utf8CString)
        let root = String(cString: mkdtemp(&template)!)
        defer { try? FileManager.default.removeItem(atPath: root) }
        let registry = try Registry(home: root)
        let clock = ManualClock()
        let launcher = MemoryLauncher()
        let manager = try EndpointManager(home: root, registry: registry, logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }),
                                          clock: ServingClock(clock), interval: .milliseconds(100), limits: WorkerLimits(), launcher: launcher)
        let records = EndpointRecords(registry: registry)
        var config = EndpointConfig(variants: [VariantConfig(name: "demand-v1", model: "demand", version: 1, code: "/code", script: "serve.py",
                                                             python: "/usr/bin/python3", modelArchive: "", modelDigest: "")])
        config.variants[0].workers = 2
        config.traffic.bakeSeconds = 3600
        _ = try records.beginUpdate("prices", config: config, by: "test")
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await manager.run() }
            // The update bakes for an hour of the manual clock: it is under way when the task is cancelled.
            for _ in 0..<2000 where launcher.live < 2 {
                clock.advance(by: .milliseconds(100))
                try await Task.sleep(for: .milliseconds(1))
            }
            #expect(launcher.live == 2)
            group.cancelAll()
            try await group.waitForAll()
        }
        #expect(launcher.live == 0, "run returned only once every worker had ended")
    }
}
