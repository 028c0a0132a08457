import Foundation
import Registry
import Testing

/// The `fixtures/churn` model repository, whose scripts are written the way SageMaker's
/// script-mode examples are, end to end: push, build, train, evaluate, a version pending
/// approval, notifications to a webhook and a command, approve; then a bad model that the
/// gates reject, and `slipway logs --follow` on a running execution.
@Suite(.serialized) struct FixtureTrainingTests {
    let shell = Shell()

    @Test func theChurnFixtureTrainsToAVersionAwaitingApprovalAndNotifies() async throws {
        let (receiver, port) = try await shell.startWebhookReceiver(failFirst: 1)
        defer { receiver.kill() }
        try await shell.fixtureRepository("churn", name: "churn")
        let notify = "printf 'notify:\\n  - {webhook: \"http://127.0.0.1:\(port)/slipway\"}\\n  - {command: \"cat >> ../events.jsonl\"}\\n' >> slipway.yaml"
        let pushed = try await shell.run("cd work && \(notify) && git commit -qam notify && git push -q origin main && \"$SLIPWAY\" agent --once")
        #expect(pushed.status == 0, "\(pushed.stdout)\(pushed.stderr)")
        #expect(pushed.stdout.contains("execution ended execution.id=training-churn-"), "\(pushed.stdout)")
        #expect(pushed.stdout.contains("execution.status=SUCCEEDED"), "\(pushed.stdout)")

        let versions = try JSONValue(parsing: try await shell.run("\"$SLIPWAY\" versions list churn --json").stdout)
        let first = try #require(versions.arrayValue?.first)
        #expect(first["version"] == 1)
        #expect(first["status"] == "PendingManualApproval")
        let accuracy = try #require(first["metrics"]?["binary_classification_metrics"]?["accuracy"]?["value"]?.doubleValue)
        let auc = try #require(first["metrics"]?["binary_classification_metrics"]?["auc"]?["value"]?.doubleValue)
        #expect(accuracy > 0.7 && auc > 0.75, "accuracy \(accuracy), auc \(auc)")
        #expect(first["hyperparameters"] == ["epochs": "400", "learning-rate": "0.5"])

        // The webhook answered 500 once: the event was retried and every attempt recorded.
        let received = shell.received()
        #expect(received.map { $0["event"] } == ["BuildSucceeded", "TrainingSucceeded", "VersionPendingApproval"], "\(received)")
        #expect(received.last?["version"]?["version"] == 1)
        let events = (try? String(contentsOfFile: shell.root + "/events.jsonl", encoding: .utf8)) ?? ""
        #expect(events.contains("\"event\":\"VersionPendingApproval\""), "the command target got the event on stdin: \(events)")
        let attempts = try JSONValue(parsing: try await shell.run("\"$SLIPWAY\" registry scan notifications --json").stdout)
        let outcomes = (attempts.arrayValue ?? []).filter { $0["item"]?["target"]?.stringValue?.contains("webhook") == true }.map { $0["item"]?["outcome"]?.stringValue ?? "?" }
        #expect(outcomes.sorted() == ["delivered", "delivered", "delivered", "failed"], "\(attempts)")

        #expect(try await shell.run("\"$SLIPWAY\" approve churn 1").status == 0)
        #expect(try await JSONValue(parsing: shell.run("\"$SLIPWAY\" versions show churn 1 --json").stdout)["status"] == "Approved")

        // A model that learns nothing (no epochs) is registered Rejected, with the gate that failed.
        let bad = "sed -i 's/epochs: 400/epochs: 0/' slipway.yaml && git commit -qam 'no training' && git push -q origin main"
        #expect(try await shell.run("cd work && \(bad) && \"$SLIPWAY\" agent --once").status == 0)
        let rejected = try JSONValue(parsing: try await shell.run("\"$SLIPWAY\" versions show churn 2 --json").stdout)
        #expect(rejected["status"] == "Rejected")
        #expect(rejected["statusReason"]?.stringValue?.contains("binary_classification_metrics.auc.value") == true, "\(rejected)")

        // `logs --follow` prints each job's output as the execution runs, and ends with it.
        let started = try JSONValue(parsing: try await shell.run("\"$SLIPWAY\" train churn --json").stdout)
        let name = try #require(started["execution"]?.stringValue)
        let followed = try await shell.run("\"$SLIPWAY\" logs \(name) --follow")
        #expect(followed.status == 0)
        #expect(followed.stdout.contains("==> Preprocess"))
        #expect(followed.stdout.contains("Classification report"), "\(followed.stdout)")
        let status = try JSONValue(parsing: try await shell.run("\"$SLIPWAY\" executions describe \(name) --json").stdout)["status"]
        #expect(status == "SUCCEEDED", "--follow returns once the execution has ended")
    }
}
