import ArtifactBuilder
import Foundation
import Registry

/// The verdict of a model's gates on an evaluation report: what `slipway:training.gates`
/// answers (at `$.verdict`, where the definition's Choice reads `passed`).
package struct GateVerdict: Codable, Sendable, Equatable {
    package var passed: Bool
    /// One line per gate that failed (or whose metric is missing), naming it and the value.
    package var reasons: [String]
    /// The evaluation report the gates were checked against (the version's metrics).
    package var metrics: JSONValue

    /// Checks every gate against `report` (SageMaker's ModelMetrics shape, for example
    /// `{"regression_metrics": {"mse": {"value": 1.2}}}`); a gate's `metric` is a dotted path.
    package static func evaluate(_ gates: [Gate], report: JSONValue) -> GateVerdict {
        var reasons: [String] = []
        for gate in gates {
            var node: JSONValue? = report
            for part in gate.metric.split(separator: ".") { node = node?[String(part)] }
            guard let value = node?.doubleValue else {
                reasons.append("metric '\(gate.metric)' is not in the evaluation report")
                continue
            }
            if let min = gate.min, value < min { reasons.append("\(gate.metric) = \(value) is below the minimum \(min)") }
            if let max = gate.max, value > max { reasons.append("\(gate.metric) = \(value) is above the maximum \(max)") }
        }
        return GateVerdict(passed: reasons.isEmpty, reasons: reasons, metrics: report)
    }
}

/// Model versions (registry table `versions`: `MODEL/NNNNNNNN`), numbered per model, with
/// SageMaker Model Registry's approval statuses.
package struct ModelVersions: Sendable {
    package static let table = "versions"

    /// `PendingManualApproval`, `Approved`, `Rejected`.
    package enum Status: String, Sendable, CaseIterable, Codable {
        case pendingManualApproval = "PendingManualApproval"
        case approved = "Approved"
        case rejected = "Rejected"
    }

    package let registry: Registry

    package init(registry: Registry) { self.registry = registry }

    /// Registers a new version with its metrics and lineage; returns its number.
    @discardableResult
    package func register(model: String, status: Status, metrics: JSONValue, lineage: [String: JSONValue], reason: String? = nil) throws -> Int {
        let number = Int(try registry.update(BuildTables.models, ItemKey(model), [.add("versions", 1)]).attributes["versions"]?.intValue ?? 1)
        var attributes = lineage
        attributes["model"] = .string(model)
        attributes["version"] = .int(Int64(number))
        attributes["status"] = .string(status.rawValue)
        attributes["metrics"] = metrics
        attributes["createdAt"] = .double(Date().timeIntervalSince1970)
        if let reason { attributes["statusReason"] = .string(reason) }
        try registry.transact([.put(table: Self.table, key: key(model, number), attributes: attributes, condition: .absent)]
            + (status == .approved ? [approvedEvent(model, number)] : []))
        return number
    }

    /// The table of decisions the deployment pipeline starts from (`version-events/MODEL/ID`).
    package static let events = "version-events"

    /// A `VersionApproved` event, written in the same transaction as the approval.
    private func approvedEvent(_ model: String, _ number: Int) -> TransactionWrite {
        let id = String(format: "%017.6f", Date().timeIntervalSince1970) + "-\(number)"
        return .put(table: Self.events, key: ItemKey(model, id),
                    attributes: ["type": "VersionApproved", "model": .string(model), "version": .int(Int64(number)),
                                 "at": .double(Date().timeIntervalSince1970)], condition: .absent)
    }

    /// Every version of a model, oldest first.
    package func list(_ model: String) throws -> [[String: JSONValue]] {
        try registry.query(Self.table, partition: model).items.map(\.attributes)
    }

    /// A model's versions, oldest first, with the files skipped because they are corrupt.
    package func read(_ model: String) throws -> ReadResult {
        try registry.query(Self.table, partition: model)
    }

    /// One version.
    package func get(_ model: String, _ number: Int) throws -> [String: JSONValue]? {
        try registry.get(Self.table, key(model, number))?.attributes
    }

    /// Approves or rejects a version awaiting a decision. A version already decided is
    /// refused with its status (a condition failure), so two people cannot both decide.
    @discardableResult
    package func decide(_ model: String, _ number: Int, _ status: Status, note: String?, by who: String) throws -> [String: JSONValue] {
        guard let item = try registry.get(Self.table, key(model, number)) else {
            throw VersionError.notFound("model '\(model)' has no version \(number); see `slipway versions list \(model)`")
        }
        let current = item.attributes["status"]?.stringValue ?? "?"
        guard current == Status.pendingManualApproval.rawValue else {
            throw VersionError.alreadyDecided("version \(number) of '\(model)' is \(current), not \(Status.pendingManualApproval.rawValue); nothing changed")
        }
        var attributes = item.attributes
        attributes["status"] = .string(status.rawValue)
        attributes["decidedAt"] = .double(Date().timeIntervalSince1970)
        attributes["decidedBy"] = .string(who)
        if let note { attributes["statusReason"] = .string(note) }
        try registry.transact([.put(table: Self.table, key: item.key, attributes: attributes, condition: .version(item.version))]
            + (status == .approved ? [approvedEvent(model, number)] : []))
        return attributes
    }

    private func key(_ model: String, _ number: Int) -> ItemKey { ItemKey(model, String(format: "%08d", number)) }
}

/// Why a version could not be read or decided.
package enum VersionError: Error, Sendable, CustomStringConvertible {
    case notFound(String)
    case alreadyDecided(String)

    package var description: String {
        switch self {
        case .notFound(let message), .alreadyDecided(let message): return message
        }
    }
}
