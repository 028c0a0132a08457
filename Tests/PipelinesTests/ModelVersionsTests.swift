import ArtifactBuilder
import Foundation
import Registry
import Testing
@testable import Pipelines

@Suite struct ModelVersionsTests {
    let report: JSONValue = ["regression_metrics": ["mse": ["value": 9.5], "r2": ["value": 0.86]]]

    @Test func gatesPassOrSayWhichMetricFailedAndWhy() {
        let pass = GateVerdict.evaluate([Gate(metric: "regression_metrics.mse.value", min: nil, max: 25),
                                         Gate(metric: "regression_metrics.r2.value", min: 0.8, max: nil)], report: report)
        #expect(pass == GateVerdict(passed: true, reasons: [], metrics: report))
        let fail = GateVerdict.evaluate([Gate(metric: "regression_metrics.mse.value", min: nil, max: 5),
                                         Gate(metric: "regression_metrics.mae.value", min: nil, max: 1)], report: report)
        #expect(!fail.passed)
        #expect(fail.reasons == ["regression_metrics.mse.value = 9.5 is above the maximum 5.0",
                                 "metric 'regression_metrics.mae.value' is not in the evaluation report"])
    }

    @Test func versionsAreNumberedPerModelAndDecidedOnce() throws {
        var template = Array((NSTemporaryDirectory() + "slipway-versions-XXXXXX").utf8CString)
        let home = String(cString: mkdtemp(&template)!)
        defer { try? FileManager.default.removeItem(atPath: home) }
        let versions = ModelVersions(registry: try Registry(home: home))
        #expect(try versions.register(model: "demand", status: .pendingManualApproval, metrics: report, lineage: ["commit": "abc"]) == 1)
        #expect(try versions.register(model: "demand", status: .rejected, metrics: report, lineage: [:], reason: "mse too high") == 2)
        #expect(try versions.register(model: "elasticity", status: .approved, metrics: report, lineage: [:]) == 1)
        #expect(try versions.list("demand").map { $0["status"] } == ["PendingManualApproval", "Rejected"])

        let approved = try versions.decide("demand", 1, .approved, note: "looks good", by: "ada")
        #expect(approved["status"] == "Approved" && approved["decidedBy"] == "ada" && approved["commit"] == "abc")
        #expect(throws: VersionError.self) { try versions.decide("demand", 1, .rejected, note: nil, by: "bob") }
        #expect(throws: VersionError.self) { try versions.decide("demand", 2, .approved, note: nil, by: "bob") }
        #expect(throws: VersionError.self) { try versions.decide("demand", 9, .approved, note: nil, by: "bob") }
        // Approvals (by hand or automatic) leave an event for the deployment pipeline.
        let events = try versions.registry.scan(ModelVersions.events).items.map(\.attributes)
        #expect(events.map { "\($0["model"]?.stringValue ?? "")-\($0["version"]?.intValue ?? 0)" }.sorted() == ["demand-1", "elasticity-1"])
        #expect(events.allSatisfy { $0["type"] == "VersionApproved" })
    }
}
