import ArtifactBuilder
import Foundation
import GitWatcher
import LogCapture
import Registry
import Testing

/// A build by hand: built here when no agent runs, queued for the agent when one does.
@Suite struct HandBuildTests {
    let fixture: GitFixture
    init() async throws { fixture = try await GitFixture() }

    @Test func anUnknownModelIsRefusedNamingTheKnownOnes() async throws {
        let registry = try Registry(home: fixture.home)
        try WatchedRepository.register(name: "demand", path: fixture.bare, in: registry)
        let log = LogLines()
        let error = await #expect(throws: HandBuild.UnknownModel.self) {
            try await HandBuild(home: fixture.home, registry: registry, environments: GitFixture.sharedEnvironments)
                .run(model: "churn", commit: nil, progress: log.logger, logger: log.logger)
        }
        #expect(error?.known == ["demand"])
        #expect(error?.description.contains("slipway repo add") == true)
    }

    @Test func withAnAgentRunningTheRequestIsQueuedForIt() async throws {
        let clone = try await fixture.clone("alice")
        try await fixture.push(clone)
        let log = LogLines()
        let (registry, agent) = try await fixture.agent(log: log)  // holds the agent lock
        let outcome = try await HandBuild(home: fixture.home, registry: registry, environments: GitFixture.sharedEnvironments)
            .run(model: "demand", commit: "main", progress: log.logger, logger: log.logger)
        guard case .queued(let commit, let reason) = outcome else {
            Issue.record("expected the request to be queued, got \(outcome)")
            return
        }
        #expect(reason.contains("another slipway agent"))
        #expect(try BuildQueue(registry: registry).pending().map(\.request.commit) == [commit])
        // The agent builds what was queued.
        let built = try await agent.runOnce()
        #expect(built.filter(\.isNew).map { $0.record.buildStatus } == [.succeeded])
    }

    @Test func withNoAgentItBuildsHereAndLeavesNothingQueuedOrLocked() async throws {
        let clone = try await fixture.clone("alice")
        try await fixture.push(clone)
        let registry = try Registry(home: fixture.home)
        try WatchedRepository.register(name: "demand", path: fixture.bare, in: registry)
        let log = LogLines()
        let outcome = try await HandBuild(home: fixture.home, registry: registry, environments: GitFixture.sharedEnvironments)
            .run(model: "demand", commit: nil, progress: log.logger, logger: log.logger)
        guard case .built(let built) = outcome else {
            Issue.record("expected a build here, got \(outcome)")
            return
        }
        #expect(built.isNew && built.record.buildStatus == .succeeded, "\(built.record.attributes["error"] ?? "")")
        #expect(try BuildQueue(registry: registry).pending().isEmpty)
        // The agent lock was given back: an agent can start now.
        let (_, agent) = try await fixture.agent(log: log)
        withExtendedLifetime(agent) {}
    }
}
