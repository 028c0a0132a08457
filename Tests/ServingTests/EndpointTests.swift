import Foundation
import Registry
import Synchronization
import Testing
@testable import Serving

/// Real endpoints: Python workers in the sandbox behind the real HTTP server.
@Suite(.serialized) struct EndpointTests {
    @Test func anEndpointServesItsModelAndAnswersBadRequestsClearly() async throws {
        try await ServingFixture.with { serving in
            let status = try await serving.deploy("prices", EndpointConfig(variants: [try serving.variant("demand", version: 1)]))
            #expect(status["status"] == "InService", "\(status)")
            #expect(status["lastUpdate"]?["outcome"] == "Succeeded")

            let answer = try await serving.invoke("prices", "[1, 2, 3.5]")
            #expect(answer.status == 200)
            #expect(answer.json == ["version": 1, "sum": 6.5])
            #expect(answer.variant == "demand-v1")

            let unknown = try await serving.invoke("nothing", "[1]")
            #expect(unknown.status == 404)
            #expect(unknown.json?["error"]?.stringValue?.contains("no endpoint 'nothing'") == true, "\(unknown.body)")
            // The model's input_fn rejecting the request is the client's error.
            let wrongType = try await serving.invoke("prices", "1,2", contentType: "text/csv")
            #expect(wrongType.status == 400)
            #expect(wrongType.json?["error"]?.stringValue?.contains("ValueError: send application/json") == true, "\(wrongType.body)")
            let malformed = try await serving.invoke("prices", "[1, 2")
            #expect(malformed.status == 400)
            #expect(malformed.json?["error"]?.stringValue?.contains("JSONDecodeError") == true, "\(malformed.body)")
            let huge = try await serving.invoke("prices", "[" + String(repeating: "1,", count: 4 << 20) + "1]")
            #expect(huge.status == 413)
            // The server and the worker are still fine.
            #expect(try await serving.invoke("prices", "[4]").json == ["version": 1, "sum": 4])
        }
    }

    @Test func defaultHandlersAnswerJSONCSVAndTheirErrors() async throws {
        try await ServingFixture.with { serving in
            let script = """
                class Model:
                    def predict(self, rows):
                        return [sum(row) if hasattr(row, "__len__") else row for row in rows]

                def model_fn(model_dir):
                    return Model()
                """
            try await serving.deploy("defaults", EndpointConfig(variants: [try serving.variant("plain", version: 1, serve: script)]))
            #expect(try await serving.invoke("defaults", "[[1, 2], [3, 4]]").json == [3, 7])
            let csv = try await serving.invoke("defaults", "1,2\n3,4\n", contentType: "text/csv", accept: "text/csv")
            #expect(csv.status == 200 && csv.body.split(separator: "\n").map { Double($0) } == [3, 7], "\(csv.body)")
            #expect(try await serving.invoke("defaults", "x", contentType: "image/png").status == 415)
            #expect(try await serving.invoke("defaults", "[1, 2", contentType: "application/json").status == 400)
            #expect(try await serving.invoke("defaults", "[[1]]", accept: "image/png").status == 406)
        }
    }

    @Test func aLinearUpdateUnderLoadFailsNoRequestAndDrainsTheOldWorkers() async throws {
        try await ServingFixture.with { serving in
            try await serving.deploy("prices", EndpointConfig(variants: [try serving.variant("demand", version: 1, workers: 2)]))
            var next = EndpointConfig(variants: [try serving.variant("demand", version: 2, workers: 2)])
            next.traffic.mode = .linear
            next.traffic.step = 0.34
            next.traffic.bakeSeconds = 0.3
            let finished = Atomic<Bool>(false)
            let records = serving.records
            async let answers = serving.load("prices", clients: 4) { finished.load(ordering: .relaxed) }
            try await Task.sleep(for: .milliseconds(300))
            let generation = try serving.records.beginUpdate("prices", config: next, by: "test")
            let status = try await serving.settled("prices", generation: generation)
            try await Task.sleep(for: .milliseconds(300))
            finished.store(true, ordering: .relaxed)
            let all = await answers
            #expect(status["lastUpdate"]?["outcome"] == "Succeeded", "\(status)")
            let failed = all.filter { $0.status != 200 }
            #expect(all.count > 20)
            #expect(failed.isEmpty, "\(failed.count) of \(all.count) requests failed: \(failed.prefix(3).map(\.body))")
            let versions = Set(all.compactMap { $0.json?["version"]?.intValue })
            #expect(versions == [1, 2], "requests were served by both versions across the update")
            #expect(try await serving.invoke("prices", "[1]").variant == "demand-v2")
            let shifts = (try records.status("prices")?["history"]?.arrayValue ?? []).filter { $0["event"] == "TrafficShifted" }.compactMap { $0["detail"]?.stringValue }
            #expect(shifts.suffix(3) == ["34% to generation 2", "68% to generation 2", "100% to generation 2"], "\(shifts)")
            let described = try #require(try records.describe("prices"))
            #expect(described["model"] == "demand" && described["version"] == 2)
            #expect(described["variants"]?.arrayValue?.count == 1)
        }
    }

    @Test func aVersionWhoseModelFailsToLoadIsRolledBackAndTheOldOneKeepsServing() async throws {
        try await ServingFixture.with { serving in
            try await serving.deploy("prices", EndpointConfig(variants: [try serving.variant("demand", version: 1)]))
            let broken = "def model_fn(model_dir):\n    raise RuntimeError('weights are corrupt')\n"
            let status = try await serving.deploy("prices", EndpointConfig(variants: [try serving.variant("demand", version: 2, serve: broken)]))
            #expect(status["lastUpdate"]?["outcome"] == "RolledBack")
            #expect(status["status"] == "InService")
            #expect(status["lastUpdate"]?["reason"]?.stringValue?.contains("RuntimeError: weights are corrupt") == true, "\(status)")
            #expect(try await serving.invoke("prices", "[2]").json == ["version": 1, "sum": 2])
        }
    }

    @Test func aCanaryThatFailsDuringItsBakeIsRolledBack() async throws {
        try await ServingFixture.with { serving in
            try await serving.deploy("prices", EndpointConfig(variants: [try serving.variant("demand", version: 1)]))
            let failing = """
                def model_fn(model_dir):
                    return None

                def predict_fn(data, model):
                    raise ValueError("predicts nothing")
                """
            var canary = EndpointConfig(variants: [try serving.variant("demand", version: 2, serve: failing)])
            canary.traffic.mode = .canary
            canary.traffic.step = 0.5
            canary.traffic.bakeSeconds = 20
            let finished = Atomic<Bool>(false)
            async let answers = serving.load("prices", clients: 2) { finished.load(ordering: .relaxed) }
            let generation = try serving.records.beginUpdate("prices", config: canary, by: "test")
            let status = try await serving.settled("prices", generation: generation)
            finished.store(true, ordering: .relaxed)
            let all = await answers
            #expect(status["lastUpdate"]?["outcome"] == "RolledBack", "\(status)")
            #expect(status["lastUpdate"]?["reason"]?.stringValue?.contains("during the bake") == true)
            #expect(all.contains { $0.variant == "demand-v2" }, "the canary took some traffic")
            for _ in 0..<5 { #expect(try await serving.invoke("prices", "[2]").variant == "demand-v1") }
        }
    }

    @Test func malformedRequestsDuringACanarysBakeDoNotRollBackAHealthyVersion() async throws {
        try await ServingFixture.with { serving in
            try await serving.deploy("prices", EndpointConfig(variants: [try serving.variant("demand", version: 1)]))
            var canary = EndpointConfig(variants: [try serving.variant("demand", version: 2)])
            canary.traffic.mode = .canary
            canary.traffic.step = 0.5
            canary.traffic.bakeSeconds = 20
            let finished = Flag()
            async let good = serving.load("prices", clients: 1) { finished.isSet }
            // A hostile client: JSON cut short, and a content type the model's input_fn refuses.
            async let bad = Self.malformed(serving, until: finished)
            let generation = try serving.records.beginUpdate("prices", config: canary, by: "test")
            let status = try await serving.settled("prices", generation: generation)
            finished.set()
            let (served, refused) = (await good, try await bad)
            #expect(status["lastUpdate"]?["outcome"] == "Succeeded", "\(status)")
            let refusedByCanary = refused.filter { $0.variant == "demand-v2" }
            #expect(refusedByCanary.count >= 8, "the canary saw malformed requests: \(refusedByCanary.count)")
            #expect(refused.allSatisfy { $0.status == 400 }, "\(refused.filter { $0.status != 400 }.prefix(3).map(\.body))")
            #expect(served.allSatisfy { $0.status == 200 })
            #expect(try await serving.invoke("prices", "[1]").variant == "demand-v2")
        }
    }

    /// Malformed requests, one after another, until `finished`.
    static func malformed(_ serving: ServingFixture, until finished: Flag) async throws -> [ServingFixture.Answer] {
        var answers: [ServingFixture.Answer] = []
        while !finished.isSet {
            answers.append(try await serving.invoke("prices", "[1, 2"))
            answers.append(try await serving.invoke("prices", "1,2", contentType: "text/csv"))
        }
        return answers
    }

    @Test func autoscalingAddsWorkersUnderLoadAndRemovesThemWhenIdle() async throws {
        try await ServingFixture.with { serving in
            var config = EndpointConfig(variants: [try serving.variant("demand", version: 1)])
            config.autoscaling.minWorkers = 1
            config.autoscaling.maxWorkers = 3
            config.autoscaling.targetInFlight = 1
            config.autoscaling.scaleInCooldown = 1
            try await serving.deploy("prices", config)
            func workers() throws -> Int { Int(try serving.records.status("prices")?["serving"]?.arrayValue?.first?["workers"]?.intValue ?? 0) }
            #expect(try workers() == 1)
            let finished = Atomic<Bool>(false)
            async let answers = serving.load("prices", clients: 6) { finished.load(ordering: .relaxed) }
            // Slow requests keep several in flight.
            async let slow: [ServingFixture.Answer] = withTaskGroup(of: ServingFixture.Answer?.self) { group in
                for _ in 0..<6 { group.addTask { try? await serving.invoke("prices", #"{"sleep": 2}"#) } }
                var all: [ServingFixture.Answer] = []
                for await answer in group { if let answer { all.append(answer) } }
                return all
            }
            var peak = 1
            _ = try await serving.pump(until: {
                peak = max(peak, try workers())
                return peak == 3
            }, timeout: 30)
            finished.store(true, ordering: .relaxed)
            _ = await (answers, slow)
            #expect(peak == 3, "scaled out to the maximum under load")
            // The cooldown (1 s) passes on the manager's clock, not in real time.
            _ = try await serving.pump(until: { try workers() == 1 }, timeout: 30)
            #expect(try workers() == 1, "scaled back in to the minimum when idle")
            let events = (try serving.records.status("prices")?["history"]?.arrayValue ?? []).compactMap { $0["event"]?.stringValue }
            #expect(events.contains("ScaledOut") && events.contains("ScaledIn"), "\(events)")
        }
    }

    @Test func aRestartedManagerServesTheEndpointsItServedBefore() async throws {
        // The first agent is stopped by cancellation, not gracefully: its workers end all the same.
        let root = try await ServingFixture.withHome(keep: true, graceful: false) { first in
            try await first.deploy("prices", EndpointConfig(variants: [try first.variant("demand", version: 1)]))
            #expect(try await first.invoke("prices", "[1]").json == ["version": 1, "sum": 1])
        }
        // Another process (here: another manager) on the same home, after this one stopped.
        try await ServingFixture.with(root: root) { second in
            var answer = try await second.invoke("prices", "[5]")
            _ = try await second.pump(until: {
                answer = try await second.invoke("prices", "[5]")
                return answer.status == 200
            }, timeout: 30)
            #expect(answer.json == ["version": 1, "sum": 5])
            // The status record follows the routes a moment later.
            func events() throws -> [String] { (try second.records.status("prices")?["history"]?.arrayValue ?? []).compactMap { $0["event"]?.stringValue } }
            _ = try await second.pump(until: { try events().last == "Restored" }, timeout: 10)
            let events = try events()
            #expect(events.last == "Restored", "\(events)")
        }
    }

    @Test func aCompositeAsksItsMembersAndNamesTheVersionsThatAnswered() async throws {
        try await ServingFixture.with { serving in
            try await serving.deploy("left", EndpointConfig(variants: [try serving.variant("left", version: 1)]))
            try await serving.deploy("right", EndpointConfig(variants: [try serving.variant("right", version: 4)]))
            let combine = """
                import json

                def model_fn(model_dir):
                    return None

                def input_fn(body, content_type):
                    return json.loads(body)

                def predict_fn(data, model):
                    if data["phase"] == "requests":
                        numbers = data["request"]["numbers"]
                        return {"left": numbers, "right": [n * 10 for n in numbers]}
                    answers = data["answers"]
                    return {"total": answers["left"]["sum"] + answers["right"]["sum"], "versions": data["versions"]}

                def output_fn(prediction, accept):
                    return json.dumps(prediction), "application/json"
                """
            var composite = EndpointConfig(variants: [try serving.variant("both", version: 1, serve: combine)])
            composite.variants[0].modelArchive = ""
            composite.members = ["left": "left", "right": "right"]
            try await serving.deploy("both", composite)
            let answer = try await serving.invoke("both", #"{"numbers": [1, 2]}"#)
            #expect(answer.status == 200, "\(answer.body)")
            #expect(answer.json?["total"] == 33)
            #expect(answer.json?["versions"]?["right"]?["version"] == 4)
            #expect(answer.variant == "both-v1")

            // A member deploys a new version on its own; the composite's answers say so.
            try await serving.deploy("left", EndpointConfig(variants: [try serving.variant("left", version: 2)]))
            #expect(try await serving.invoke("both", #"{"numbers": [1]}"#).json?["versions"]?["left"]?["version"] == 2)
            // A member that fails is named.
            _ = try serving.records.delete("right")
            #expect(try await serving.pump(until: { try serving.records.status("right") == nil }))
            let broken = try await serving.invoke("both", #"{"numbers": [1]}"#)
            #expect(broken.status == 502)
            #expect(broken.json?["error"]?.stringValue?.contains("member 'right'") == true, "\(broken.body)")
        }
    }
}
