import ArtifactBuilder
import Foundation
import GitWatcher
import JSON
import Logging
import Registry
import Serving
import StatesLanguage
import Testing
@testable import Quickstart

/// A fresh home and a fixtures folder holding one small repository, removed when released.
final class QuickstartFixture {
    let root: String
    var home: String { root + "/home" }
    var fixtures: String { root + "/fixtures" }

    init() throws {
        var bytes = Array((NSTemporaryDirectory() + "slipway-quickstart-XXXXXX").utf8CString)
        root = String(cString: mkdtemp(&bytes)!)
        try FileManager.default.createDirectory(atPath: fixtures + "/demand", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: home, withIntermediateDirectories: true)
        try Data("name: demand\n".utf8).write(to: URL(fileURLWithPath: fixtures + "/demand/slipway.yaml"))
        try Data("*.pyc\n".utf8).write(to: URL(fileURLWithPath: fixtures + "/demand/.gitignore"))
    }

    deinit { try? FileManager.default.removeItem(atPath: root) }

    /// A quickstart of this home whose waits give up after `patience`.
    func quickstart(patience: Duration = .seconds(5)) throws -> Quickstart {
        var quickstart = Quickstart(home: home, registry: try Registry(home: home), fixtures: fixtures, executable: "/bin/false", port: 0, logger: Logger(label: "test") { _ in SwiftLogNoOpLogHandler() })
        quickstart.timings.poll = .milliseconds(10)
        quickstart.timings.servingPoll = .milliseconds(10)
        quickstart.timings.serving = patience
        quickstart.timings.work = patience
        return quickstart
    }
}

/// Collects a run's events.
final class Events: @unchecked Sendable {
    var all: [QuickstartEvent] = []
    func record(_ event: QuickstartEvent) { all.append(event) }
}

@Suite struct QuickstartRepositoryTests {
    @Test func aFixtureIsPushedToANewBareRepositoryWhoseHookSpoolsThePushAndOnlyOnce() async throws {
        let fixture = try QuickstartFixture()
        let quickstart = try fixture.quickstart()
        let events = Events()
        try await quickstart.pushFixture("demand", progress: events.record)
        let bare = fixture.home + "/repos/demand.git"
        #expect(events.all == [.creatingRepository(bare: bare, work: fixture.home + "/work/demand")])

        let repository = try GitRepository(path: bare)
        let head = try repository.resolveCommit("main")
        #expect(try repository.files(at: head).map(\.path).sorted() == [".gitignore", "slipway.yaml"])
        #expect(try WatchedRepository.named("demand", in: quickstart.registry)?.path == bare)
        let hook = try String(contentsOfFile: bare + "/hooks/post-receive", encoding: .utf8)
        #expect(hook.contains("'/bin/false'") && hook.contains(fixture.home))
        let spooled = try FileManager.default.contentsOfDirectory(atPath: fixture.home + "/" + Spool.folderName).filter { $0.hasSuffix(".push") }
        #expect(spooled.count == 1, "the hook spooled the push for the agent")

        let again = Events()
        try await quickstart.pushFixture("demand", progress: again.record)
        #expect(again.all == [.repositoryExists(bare: bare)])
        #expect(try FileManager.default.contentsOfDirectory(atPath: fixture.home + "/" + Spool.folderName).filter { $0.hasSuffix(".push") }.count == 1)
    }

    @Test func aMissingFixtureFolderSaysWhereToPointTheQuickstart() async throws {
        let fixture = try QuickstartFixture()
        let error = await #expect(throws: QuickstartError.self) { try await fixture.quickstart().pushFixture("elasticity", progress: { _ in }) }
        #expect(error?.message == "cannot read the fixture folder '\(fixture.fixtures)/elasticity'")
        #expect(error?.hint.contains("--fixtures") == true)
    }
}

@Suite struct QuickstartWaitTests {
    @Test func aFailedBuildEndsTheWaitNamingTheBuildToLookAt() async throws {
        let fixture = try QuickstartFixture()
        let quickstart = try fixture.quickstart()
        try quickstart.registry.put(BuildTables.builds, ItemKey("demand", BuildTables.sortKey(1)), ["id": "demand-1", "status": "failed", "error": "no numpy"])
        let error = await #expect(throws: QuickstartError.self) { try await quickstart.waitForBuild("demand") }
        #expect(error?.message == "the build of demand failed: no numpy")
        #expect(error?.hint == "see `slipway builds show demand-1`")

        try quickstart.registry.put(BuildTables.builds, ItemKey("demand", BuildTables.sortKey(2)), ["id": "demand-2", "status": "succeeded"])
        try await quickstart.waitForBuild("demand")
    }

    @Test func aBuildThatNeverComesEndsTheWaitAfterItsPatience() async throws {
        let fixture = try QuickstartFixture()
        let error = await #expect(throws: QuickstartError.self) { try await fixture.quickstart(patience: .milliseconds(50)).waitForBuild("demand") }
        #expect(error?.message.hasPrefix("demand was not built within") == true)
    }

    @Test func anAgentThatDoesNotServeIsReportedWithTheEndOfItsLog() async throws {
        let fixture = try QuickstartFixture()
        let quickstart = try fixture.quickstart(patience: .milliseconds(50))
        try Data("starting\nerror: port 8080 is taken\n".utf8).write(to: URL(fileURLWithPath: fixture.home + "/agent.log"))
        let error = await #expect(throws: QuickstartError.self) { try await quickstart.waitForServing() }
        #expect(error?.message.hasSuffix("ends:\nstarting\nerror: port 8080 is taken") == true, "\(String(describing: error))")

        try ServingMarker.write(home: fixture.home, host: "127.0.0.1", port: 4321)  // this process serves
        #expect(try await quickstart.waitForServing() == "127.0.0.1:4321")
    }

    @Test func aFailedTrainingEndsTheWaitWithItsErrorAndCause() async throws {
        let fixture = try QuickstartFixture()
        let quickstart = try fixture.quickstart()
        let store = ExecutionStore(folder: fixture.home + "/executions")
        let definition = #"{"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "Train.Failed", "Cause": "loss is NaN"}}}"#
        let (stored, lock) = try store.createHeld(name: "training-demand-1-abc", definition: definition, input: [:], stateMachineName: "training")
        let outcome = await Engine().run(stored.machine, input: stored.input, name: stored.name, journal: stored.journal)
        withExtendedLifetime(lock) {}
        #expect(outcome.status == "FAILED")

        let error = await #expect(throws: QuickstartError.self) { try await quickstart.waitForVersion("demand") }
        #expect(error?.message == "training demand failed: Train.Failed loss is NaN")
        #expect(error?.hint == "see `slipway logs training-demand-1-abc`")
    }
}

@Suite struct QuickstartRequestTests {
    @Test func theExampleRequestPricesTheFirstProductOfTheGroundTruthAtItsCostHint() throws {
        let fixture = try QuickstartFixture()
        #expect(Quickstart.exampleRequest(fixtures: fixture.fixtures) == ["product": "P01", "cost": 4.0, "week": 23])
        let truth: JSONValue = ["P07": ["unit_cost_hint": 2.5], "P03": ["unit_cost_hint": 5.5, "elasticity": -2.0]]
        try Data(truth.serialized().utf8).write(to: URL(fileURLWithPath: fixture.fixtures + "/truth.json"))
        #expect(Quickstart.exampleRequest(fixtures: fixture.fixtures) == ["product": "P03", "cost": 5.5, "week": 23])
    }

    @Test func aVersionsMetricsReadAsOneSortedLine() {
        let version: JSONValue = ["metrics": ["regression_metrics": ["r2": ["value": 0.861234], "mse": ["value": 9.5]], "notes": "x"]]
        #expect(Quickstart.metrics(version) == "regression_metrics.mse = 9.5, regression_metrics.r2 = 0.8612")
        #expect(Quickstart.metrics([:]) == "no metrics")
    }

    @Test func theFixturesAreFoundInTheFirstFolderThatHoldsThem() throws {
        let fixture = try QuickstartFixture()
        let checkout = fixture.root + "/checkout"
        try FileManager.default.createDirectory(atPath: checkout + "/fixtures/price-optimiser/demand", withIntermediateDirectories: true)
        try Data().write(to: URL(fileURLWithPath: checkout + "/fixtures/price-optimiser/demand/slipway.yaml"))
        #expect(Quickstart.findFixtures(in: [fixture.home] + Quickstart.folderAndParents(of: checkout + "/.build/debug")) == checkout + "/fixtures/price-optimiser")
        #expect(Quickstart.findFixtures(in: [fixture.home]) == nil)
    }
}
