import ArtifactBuilder
import Foundation
import GitWatcher
import LogCapture
import Registry
import Testing

/// The agent's answers to late hooks, dead builders and odd repositories.
@Suite(.serialized) struct AgentRecoveryTests {
    let fixture: GitFixture

    init() async throws { fixture = try await GitFixture() }

    @Test func aLateHookNeverMovesTheCursorBackAndIsRecordedSuperseded() async throws {
        let clone = try await fixture.clone("alice")
        try await fixture.push(clone)
        let (registry, agent) = try await fixture.agent()
        try await agent.runOnce()
        let a = try await fixture.git(["rev-parse", "main"], in: clone)
        let b = try await fixture.change(clone, "train.py", append: "\n# b\n", message: "b")
        try await fixture.push(clone)
        try await agent.runOnce()  // the watcher saw B first
        // Now the hook's spool file for an older push (X -> A) arrives late.
        let x = try await fixture.git(["rev-parse", "main~1"], in: clone)
        try FileManager.default.createDirectory(atPath: fixture.home + "/spool", withIntermediateDirectories: true)
        try Data("repository \(fixture.bare)\n\(x) \(a) refs/heads/main\n".utf8)
            .write(to: URL(fileURLWithPath: fixture.home + "/spool/1-1.push"))
        #expect(try await agent.runOnce().isEmpty, "nothing should build")
        #expect(try BuildQueue(registry: registry).cursor(repository: "demand", branch: "main") == b)
        let records = try registry.query("builds", partition: "demand").items.map(\.attributes)
        #expect(records.filter { $0["commit"]?.stringValue == b && $0["status"] == "succeeded" }.count == 1)
        #expect(records.contains { $0["commit"]?.stringValue == a && $0["status"] == "superseded" && $0["supersededBy"]?.stringValue == b })
    }

    @Test func aBuildInterruptedTwiceIsFailedAndDropped() async throws {
        let clone = try await fixture.clone("alice")
        try await fixture.push(clone)
        let (registry, agent) = try await fixture.agent()
        let commit = try await fixture.git(["rev-parse", "main"], in: clone)
        var request = BuildRequest(repositoryName: "demand", repositoryPath: fixture.bare, branch: "main", commit: commit,
                                   requestedBy: "hook", requestedAt: 0)
        request.attempts = 1
        try registry.put(BuildQueue.table, ItemKey("r1"), request.json)
        try registry.put("builds", ItemKey("demand", "00000001"), [
            "id": "demand-1", "status": "running", "pid": .int(2_147_483_646), "requestID": "r1", "commit": .string(commit),
        ])
        try registry.put("cursors", ItemKey("demand", "main"), ["commit": .string(commit)])
        #expect(try agent.markInterruptedBuilds() == 1)
        let record = try registry.get("builds", ItemKey("demand", "00000001"))?.attributes
        #expect(record?["status"] == "failed")
        #expect(record?["error"]?.stringValue?.contains("interrupted twice") == true)
        #expect(try BuildQueue(registry: registry).pending().isEmpty)
    }

    @Test func aSpooledPushThatCannotBeHandledIsSetAsideAndTheRestStillBuild() async throws {
        let clone = try await fixture.clone("alice")
        try await fixture.push(clone)
        let (registry, agent) = try await fixture.agent()
        let spool = fixture.home + "/spool"
        try FileManager.default.createDirectory(atPath: spool, withIntermediateDirectories: true)
        try Data("repository /nowhere/at/all.git\nx y refs/heads/main\n".utf8).write(to: URL(fileURLWithPath: spool + "/1-1.push"))
        try Data([0xFF, 0xFE]).write(to: URL(fileURLWithPath: spool + "/1-2.push"))
        let builds = try await agent.runOnce()
        #expect(builds.first?.record.attributes["status"] == "succeeded")  // the watcher's push still built
        let left = try FileManager.default.contentsOfDirectory(atPath: spool).sorted()
        #expect(left == ["1-1.push.refused", "1-2.push.failed"])
        #expect(try WatchedRepository.all(in: registry).count == 1)
    }

    @Test func aSpooledPushNamingAnUnregisteredRepositoryIsRefusedLoggedOnceAndNeverBuilt() async throws {
        // A real repository with a commit that builds, which nobody registered.
        let clone = try await fixture.clone("alice")
        let other = fixture.root + "/elsewhere/model.git"
        try await fixture.git(["init", "-q", "--bare", "--initial-branch=main", other], in: fixture.root)
        try await fixture.git(["push", "-q", other, "HEAD:refs/heads/main"], in: clone)
        let commit = try await fixture.git(["rev-parse", "HEAD"], in: clone)
        let log = LogLines()
        let (registry, agent) = try await fixture.agent(log: log)
        let spool = fixture.home + "/spool"
        try FileManager.default.createDirectory(atPath: spool, withIntermediateDirectories: true)
        try Data("repository \(other)\n\(String(repeating: "0", count: 40)) \(commit) refs/heads/main\n".utf8)
            .write(to: URL(fileURLWithPath: spool + "/1-1.push"))
        #expect(try await agent.runOnce().isEmpty, "nothing builds")
        #expect(try await agent.runOnce().isEmpty)
        #expect(try FileManager.default.contentsOfDirectory(atPath: spool) == ["1-1.push.refused"])
        #expect(try WatchedRepository.all(in: registry).map(\.name) == ["demand"], "the push registered nothing")
        #expect(try BuildQueue(registry: registry).pending().isEmpty)
        #expect(log.all.filter { $0.contains("refused") && $0.contains(other) }.count == 1, "\(log.all)")
        // A repository registered by `slipway hook install` (or `repo add`) builds.
        try WatchedRepository.register(name: "elsewhere", path: other, in: registry)
        try Data("repository \(other)\n\(String(repeating: "0", count: 40)) \(commit) refs/heads/main\n".utf8)
            .write(to: URL(fileURLWithPath: spool + "/1-2.push"))
        #expect(try await agent.runOnce().first?.record.attributes["status"] == "succeeded")
    }

    @Test func aHungBuildStepTimesOutWithTheStagesTimeout() async throws {
        let clone = try await fixture.clone("alice")
        let config = try String(contentsOfFile: clone + "/slipway.yaml", encoding: .utf8)
            .replacingOccurrences(of: "resources: {cpus: 1, memory: 512MiB, timeout: 10m}", with: "resources: {cpus: 1, memory: 512MiB, timeout: 2s}")
            .replacingOccurrences(of: "run: python -m unittest discover -s tests", with: "run: sleep 60 & sleep 60")
        try await fixture.write(clone, "slipway.yaml", config, message: "a hanging step")
        try await fixture.push(clone)
        let (_, agent) = try await fixture.agent()
        let started = Date()
        let build = try #require(try await agent.runOnce().first?.record.attributes)
        #expect(build["status"] == "failed")
        #expect(build["error"]?.stringValue?.contains("timed out after 2 s") == true, "\(build["error"] ?? "")")
        #expect(Date().timeIntervalSince(started) < 30)
    }

    /// Finding 4: a timeout too large for `Int` overflowed while the agent collected the
    /// push (the branch policy reads the config), and the agent crashed on every restart.
    /// Now that push fails its own build, naming the field and the bound, and the fixing
    /// push, spooled by the hook, builds.
    @Test func aPushWhoseConfigOverflowsFailsThatBuildAndTheNextPushBuilds() async throws {
        let clone = try await fixture.clone("alice")
        let good = try String(contentsOfFile: clone + "/slipway.yaml", encoding: .utf8)
        let hostile = good.replacingOccurrences(of: "timeout: 10m}", with: "timeout: 9999999999999999h}")
            .replacingOccurrences(of: "deploy: {endpoint: demand,", with: "deploy: {bake: 99999999999999999999d, endpoint: demand,")
        #expect(hostile != good)
        let bad = try await fixture.write(clone, "slipway.yaml", hostile, message: "hostile numbers")
        try await fixture.push(clone)
        let (registry, agent) = try await fixture.agent()
        let failed = try #require(try await agent.runOnce().first?.record.attributes)
        #expect(failed["status"] == "failed")
        #expect(failed["commit"]?.stringValue == bad)
        let error = failed["error"]?.stringValue ?? ""
        #expect(error.contains("timeout '9999999999999999h' is longer than the limit of 7d"), "\(error)")
        #expect(error.contains("bake '99999999999999999999d' is longer than the limit of 1d"), "\(error)")

        let fixed = try await fixture.write(clone, "slipway.yaml", good, message: "sane numbers")
        try await fixture.push(clone)
        try FileManager.default.createDirectory(atPath: fixture.home + "/spool", withIntermediateDirectories: true)
        try Data("repository \(fixture.bare)\n\(bad) \(fixed) refs/heads/main\n".utf8).write(to: URL(fileURLWithPath: fixture.home + "/spool/1-1.push"))
        let next = try #require(try await agent.runOnce().first?.record.attributes)
        #expect(next["status"] == "succeeded", "\(next["error"] ?? "")")
        #expect(next["commit"]?.stringValue == fixed)
        #expect(try registry.query("builds", partition: "demand").items.count == 2)
    }
}
