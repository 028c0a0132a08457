import Logging
import ArtifactBuilder
import Foundation
import GitWatcher
import LogCapture
import Registry
import Testing

/// Pushes of real repositories, built by the agent (the watcher notices them: no hook here).
@Suite(.serialized) struct BuildTests {
    let fixture: GitFixture

    init() async throws { fixture = try await GitFixture() }

    func latest(_ registry: Registry, _ stage: String) throws -> String? {
        try registry.get("models", ItemKey("demand"))?.attributes["latest"]?["stages"]?[stage]?["digest"]?.stringValue
    }

    @Test func aPushBuildsEveryStageAndMovesTheLatestPointers() async throws {
        let clone = try await fixture.clone("alice")
        try await fixture.push(clone)
        let (registry, agent) = try await fixture.agent()
        let builds = try await agent.runOnce()
        #expect(builds.count == 1)
        let build = try #require(builds.first?.record.attributes)
        #expect(build["status"] == "succeeded", "\(build["error"] ?? "")")
        #expect(build["commit"]?.stringValue == (try await fixture.git(["rev-parse", "main"], in: fixture.bare)))
        #expect(build["author"] == "Ada Scientist <ada@example.com>")
        #expect(build["branch"] == "main")
        #expect(build["data"]?["sales"]?["digest"]?.stringValue?.count == 64)
        let latest = try #require(registry.get("models", ItemKey("demand"))?.attributes["latest"])
        #expect(latest["build"] == "demand-1")
        for stage in ["preprocess", "train", "evaluate", "serve"] {
            let path = try #require(latest["stages"]?[stage]?["path"]?.stringValue)
            #expect(FileManager.default.fileExists(atPath: path + "/manifest.json"))
        }
        let trainCode = latest["stages"]!["train"]!["path"]!.stringValue! + "/code"
        #expect(FileManager.default.fileExists(atPath: trainCode + "/train.py"))
        #expect(FileManager.default.fileExists(atPath: trainCode + "/model_lib.py"))
        #expect(!FileManager.default.fileExists(atPath: trainCode + "/preprocess.py"))
        #expect(!FileManager.default.isWritableFile(atPath: trainCode + "/train.py") || getuid() == 0)
        let mode = try FileManager.default.attributesOfItem(atPath: trainCode + "/train.py")[.posixPermissions] as? Int
        #expect(mode == 0o444)
        #expect(try await agent.runOnce().isEmpty, "a second pass built the same push again")
    }

    @Test func aCommitThatChangesOnlyTrainReusesTheOtherArtifactsAndLogsWhy() async throws {
        let clone = try await fixture.clone("alice")
        try await fixture.push(clone)
        let log = LogLines()
        let (registry, agent) = try await fixture.agent(log: log)
        try await agent.runOnce()
        let before = try ["preprocess", "train", "evaluate", "serve"].map { try latest(registry, $0) }
        try await fixture.change(clone, "train.py", append: "\n# tuned\n", message: "tune training")
        try await fixture.push(clone)
        let build = try #require(try await agent.runOnce().first?.record.attributes)
        #expect(build["status"] == "succeeded")
        #expect(build["artifacts"]?["preprocess"]?["reused"] == true)
        #expect(build["artifacts"]?["train"]?["reused"] == false)
        let after = try ["preprocess", "train", "evaluate", "serve"].map { try latest(registry, $0) }
        #expect(after[0] == before[0] && after[2] == before[2] && after[3] == before[3])
        #expect(after[1] != before[1])
        // One info line per artifact, saying why, with the model, the build and the stage.
        let second = log.entries.filter { $0.metadata["build.id"] == "demand-2" && $0.level == .info }
        let hit = try #require(second.first { $0.metadata["stage.name"] == "preprocess" }, "\(log.all)")
        #expect(hit.message == "cache hit: preprocess artifact \(before[0]?.prefix(12) ?? "?")")
        #expect(hit.metadata["model.name"] == "demand")
        #expect(hit.metadata["artifact.digest"] == before[0])
        let built = try #require(second.first { $0.metadata["stage.name"] == "train" }, "\(log.all)")
        #expect(built.message == "built train artifact \(after[1]?.prefix(12) ?? "?")")
        #expect(second.first?.message.hasPrefix("building main at ") == true, "\(second.map(\.message))")
    }

    @Test func aBrokenConfigFailsTheBuildClearlyAndLeavesLatestAlone() async throws {
        let clone = try await fixture.clone("alice")
        try await fixture.push(clone)
        let (registry, agent) = try await fixture.agent()
        try await agent.runOnce()
        let good = try registry.get("models", ItemKey("demand"))?.attributes["latest"]
        let config = try String(contentsOfFile: clone + "/slipway.yaml", encoding: .utf8)
            .replacingOccurrences(of: "    hyperparameters:", with: "    hyperparams:")
            .replacingOccurrences(of: "script: evaluate.py", with: "script: missing.py")
        try await fixture.write(clone, "slipway.yaml", config, message: "break the config")
        try await fixture.push(clone)
        let build = try #require(try await agent.runOnce().first?.record.attributes)
        #expect(build["status"] == "failed")
        let error = build["error"]?.stringValue ?? ""
        #expect(error.contains("unknown key 'hyperparams' in stages.train; did you mean 'hyperparameters'?"), "\(error)")
        #expect(build["diagnostics"]?.arrayValue?.isEmpty == false)
        #expect(try registry.get("models", ItemKey("demand"))?.attributes["latest"] == good)

        // Fixing the typo leaves the missing script: reported with its line and a hint.
        try await fixture.write(clone, "slipway.yaml", config.replacingOccurrences(of: "hyperparams:", with: "hyperparameters:"), message: "fix typo")
        try await fixture.push(clone)
        let second = try #require(try await agent.runOnce().first?.record.attributes)
        #expect(second["status"] == "failed")
        #expect(second["error"]?.stringValue?.contains("'missing.py' is not in commit") == true)
        #expect(second["diagnostics"]?.arrayValue?.first?["line"]?.intValue != nil)
    }

    @Test func aFailingBuildStepFailsTheBuild() async throws {
        let clone = try await fixture.clone("alice")
        try await fixture.write(clone, "tests/test_model.py", "import unittest\nclass T(unittest.TestCase):\n    def test_fails(self):\n        self.fail('boom')\n", message: "a failing test")
        try await fixture.push(clone)
        let log = LogLines()
        let (registry, agent) = try await fixture.agent(log: log)
        let build = try #require(try await agent.runOnce().first?.record.attributes)
        #expect(build["status"] == "failed")
        #expect(build["error"]?.stringValue?.contains("build step 'unit tests' failed") == true)
        #expect(build["error"]?.stringValue?.contains("boom") == true)
        #expect(try registry.get("models", ItemKey("demand"))?.attributes["latest"] == nil)
        // The step's start is an event; what it printed is debug output, tagged with the step.
        let step = log.entries.filter { $0.metadata["build.step"] == "unit tests" }
        #expect(step.first?.level == .info && step.first?.message.hasPrefix("step 'unit tests' in the") == true, "\(log.all)")
        #expect(step.contains { $0.level == .debug && $0.message.contains("boom") }, "\(log.all)")
    }

    @Test func aCommitBuiltByHandIsNotBuiltAgainWhenItsQueuedRequestComesUp() async throws {
        let clone = try await fixture.clone("alice")
        try await fixture.push(clone)
        let (registry, agent) = try await fixture.agent()
        let commit = try await fixture.git(["rev-parse", "main"], in: fixture.bare)
        let request = BuildRequest(repositoryName: "demand", repositoryPath: fixture.bare, branch: "main", commit: commit,
                                   requestedBy: "manual", requestedAt: Date().timeIntervalSince1970)
        let first = try await agent.builder.build(request)
        #expect(first.record.attributes["status"] == "succeeded")
        // The hook had queued the same push; the agent finds the commit built.
        try BuildQueue(registry: registry).observe(BuildRequest(repositoryName: "demand", repositoryPath: fixture.bare, branch: "main",
                                                                commit: commit, requestedBy: "hook", requestedAt: Date().timeIntervalSince1970))
        let again = try await agent.runOnce()
        #expect(again.map { $0.record.attributes["id"] } == [first.record.attributes["id"]])
        #expect(again.first?.isNew == false, "the queued request answers with the existing build")
        #expect(try registry.query("builds", partition: "demand").items.count == 1)
        #expect(try BuildQueue(registry: registry).pending().isEmpty)
    }

    @Test func severalPushesBeforeABuildBuildTheNewestAndSupersedeTheRest() async throws {
        let clone = try await fixture.clone("alice")
        try await fixture.push(clone)
        let (registry, agent) = try await fixture.agent()
        try await agent.runOnce()
        // The agent is busy elsewhere while three commits arrive; the hook queues each one.
        var pushed: [String] = []
        for n in 1...3 {
            pushed.append(try await fixture.change(clone, "train.py", append: "\n# change \(n)\n", message: "change \(n)"))
            try await fixture.push(clone)
            try BuildQueue(registry: registry).observe(BuildRequest(
                repositoryName: "demand", repositoryPath: fixture.bare, branch: "main", commit: pushed.last!,
                requestedBy: "hook", requestedAt: Date().timeIntervalSince1970))
        }
        let builds = try await agent.runOnce()
        #expect(builds.map { $0.record.attributes["commit"]?.stringValue } == [pushed[2]])
        let records = try registry.query("builds", partition: "demand").items.map(\.attributes)
        for commit in pushed.dropLast() {
            #expect(records.contains { $0["commit"]?.stringValue == commit && $0["status"] == "superseded" })
        }
        #expect(try BuildQueue(registry: registry).pending().isEmpty)
    }

    @Test func onlyTheBranchesTheConfigNamesBuild() async throws {
        let clone = try await fixture.clone("alice")
        try await fixture.push(clone)
        let (registry, agent) = try await fixture.agent()
        try await agent.runOnce()
        try await fixture.git(["checkout", "-q", "-b", "experiment"], in: clone)
        try await fixture.change(clone, "train.py", append: "\n# experiment\n", message: "experiment")
        try await fixture.push(clone, "experiment")
        #expect(try await agent.runOnce().isEmpty)
        #expect(try BuildQueue(registry: registry).cursor(repository: "demand", branch: "experiment") != nil)
        // Listing the branch in the config makes its next push build.
        let config = try String(contentsOfFile: clone + "/slipway.yaml", encoding: .utf8)
        try await fixture.write(clone, "slipway.yaml", config.replacingOccurrences(of: "requirements: requirements.txt", with: "requirements: requirements.txt\nbranches: [main, experiment]"), message: "build experiment")
        try await fixture.push(clone, "experiment")
        #expect(try await agent.runOnce().first?.record.attributes["branch"] == "experiment")
    }

    @Test func aSecondAgentForTheSameHomeIsRefusedNamingTheFirst() async throws {
        let (registry, first) = try await fixture.agent()
        defer { withExtendedLifetime(first) {} }
        let builder = try await Builder(home: fixture.home, registry: registry, environments: GitFixture.sharedEnvironments, logger: LogLines().logger)
        let error = #expect(throws: BuildFailure.self) { try BuildAgent(home: fixture.home, registry: registry, builder: builder, logger: LogLines().logger) }
        #expect(error?.message.contains("pid \(getpid())") == true)
    }

    @Test func hostDataIsDigestedAndEverySuccessReachesTheListener() async throws {
        let clone = try await fixture.clone("alice")
        let hostData = fixture.root + "/host-data"
        try FileManager.default.createDirectory(atPath: hostData, withIntermediateDirectories: true)
        try Data("a,b\n1,2\n".utf8).write(to: URL(fileURLWithPath: hostData + "/extra.csv"))
        let config = try String(contentsOfFile: clone + "/slipway.yaml", encoding: .utf8)
            .replacingOccurrences(of: "  sales: {path: data/sales.csv}", with: "  sales: {path: data/sales.csv}\n  extra: {host: \(hostData)}")
        try await fixture.write(clone, "slipway.yaml", config, message: "host data")
        try await fixture.push(clone)

        final class Listener: BuildListener, @unchecked Sendable {
            var builds: [String] = []
            func buildSucceeded(model: String, buildID: String, record: [String: JSONValue]) { builds.append(buildID) }
        }
        let listener = Listener()
        let registry = try Registry(home: fixture.home)
        try WatchedRepository.register(name: "demand", path: fixture.bare, in: registry)
        let builder = try await Builder(home: fixture.home, registry: registry, environments: GitFixture.sharedEnvironments, listener: listener,
                                        logger: LogLines().logger)
        let agent = try BuildAgent(home: fixture.home, registry: registry, builder: builder, logger: LogLines().logger)
        let build = try #require(try await agent.runOnce().first?.record.attributes)
        #expect(build["status"] == "succeeded", "\(build["error"] ?? "")")
        let digest = build["data"]?["extra"]?["digest"]?.stringValue
        #expect(digest?.count == 64)
        #expect(listener.builds == ["demand-1"])

        // Changed host data changes its digest; missing host data fails the build clearly.
        try Data("a,b\n1,3\n".utf8).write(to: URL(fileURLWithPath: hostData + "/extra.csv"))
        _ = try await builder.build(BuildRequest(repositoryName: "demand", repositoryPath: fixture.bare, branch: "main", commit: "main",
                                           requestedBy: "manual", requestedAt: 0))
        #expect(try registry.get("builds", ItemKey("demand", "00000002"))?.attributes["data"]?["extra"]?["digest"]?.stringValue != digest)
        try FileManager.default.removeItem(atPath: hostData)
        let failed = try await builder.build(BuildRequest(repositoryName: "demand", repositoryPath: fixture.bare, branch: "main", commit: "main",
                                                    requestedBy: "manual", requestedAt: 0))
        #expect(failed.record.attributes["status"] == "failed")
        #expect(failed.record.attributes["error"]?.stringValue?.contains("host data 'extra' at '\(hostData)' cannot be read") == true)
        #expect(listener.builds == ["demand-1", "demand-2"])
    }
}
