import Foundation
import Registry

/// Where endpoints live in the registry. `endpoints/NAME` is the desired configuration (the
/// deployment pipeline writes it, with a generation number); `endpoint-status/NAME` is what
/// the agent made of it (only the agent writes it); `endpoint-configs/NAME/GENERATION`
/// keeps every configuration ever recorded, as SageMaker keeps endpoint configs;
/// `endpoint-autoscaling/NAME` holds the autoscaling policy.
package struct EndpointRecords: Sendable {
    package static let endpoints = "endpoints"
    package static let status = "endpoint-status"
    package static let configs = "endpoint-configs"
    package static let autoscaling = "endpoint-autoscaling"

    package let registry: Registry
    /// The endpoint tables of `registry`.
    package init(registry: Registry) { self.registry = registry }

    /// Endpoint names: 1 to 63 lowercase letters, digits, '-' or '_', starting with a letter
    /// (as model names).
    package static func isValidName(_ name: String) -> Bool {
        guard let first = name.unicodeScalars.first, ("a"..."z").contains(first), name.unicodeScalars.count <= 63 else { return false }
        return name.unicodeScalars.allSatisfy { ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "-" || $0 == "_" }
    }

    /// The desired configuration and its generation.
    package func desired(_ name: String) throws -> (generation: Int, config: EndpointConfig)? {
        guard let item = try registry.get(Self.endpoints, ItemKey(name)), let config = EndpointConfig(json: item.attributes["config"]) else { return nil }
        return (Int(item.attributes["generation"]?.intValue ?? 0), config)
    }

    /// Every endpoint's desired configuration, by name.
    package func allDesired() throws -> [String: (generation: Int, config: EndpointConfig)] {
        var all: [String: (Int, EndpointConfig)] = [:]
        for item in try registry.scan(Self.endpoints).items {
            if let config = EndpointConfig(json: item.attributes["config"]) {
                all[item.key.partition] = (Int(item.attributes["generation"]?.intValue ?? 0), config)
            }
        }
        return all
    }

    /// Records `config` as the endpoint's next generation (as SageMaker's
    /// CreateEndpointConfig) and returns that generation; it is not yet the desired one.
    package func recordConfig(_ name: String, config: EndpointConfig, by execution: String) throws -> Int {
        let recorded = try registry.query(Self.configs, partition: name, descending: true, limit: 1).items.first
        let desired = try registry.get(Self.endpoints, ItemKey(name))
        let generation = max(Int(recorded?.key.sort ?? "") ?? 0, Int(desired?.attributes["generation"]?.intValue ?? 0)) + 1
        try registry.put(Self.configs, ItemKey(name, String(format: "%08d", generation)),
                         ["config": config.json, "execution": .string(execution), "at": .double(Date().timeIntervalSince1970)], condition: .absent)
        return generation
    }

    /// Makes a recorded generation the desired one (as SageMaker's UpdateEndpoint): the
    /// agent starts the update when it notices. Returns at once.
    package func begin(_ name: String, generation: Int) throws {
        guard let recorded = try registry.get(Self.configs, ItemKey(name, String(format: "%08d", generation))),
            let config = EndpointConfig(json: recorded.attributes["config"])
        else { throw WorkerError("endpoint '\(name)' has no recorded configuration \(generation)") }
        let current = try registry.get(Self.endpoints, ItemKey(name))
        let now = JSONValue.double(Date().timeIntervalSince1970)
        let primary = config.variants.max { $0.weight < $1.weight }!
        try registry.put(Self.endpoints, ItemKey(name),
                         ["name": .string(name), "generation": .int(Int64(generation)), "config": config.json,
                          "model": .string(primary.model), "version": .int(Int64(primary.version)), "updatedAt": now,
                          "createdAt": current?.attributes["createdAt"] ?? now],
                         condition: current.map { .version($0.version) } ?? .absent)
    }

    /// `recordConfig` then `begin`; returns the generation.
    package func beginUpdate(_ name: String, config: EndpointConfig, by execution: String) throws -> Int {
        let generation = try recordConfig(name, config: config, by: execution)
        try begin(name, generation: generation)
        return generation
    }

    /// The endpoint's autoscaling policy (as Application Auto Scaling's): it applies to
    /// the running variants at once, without an update. Nil: the configuration's.
    package func autoscaling(_ name: String) -> AutoscalingConfig? {
        (try? registry.get(Self.autoscaling, ItemKey(name))).flatMap { $0.map { AutoscalingConfig(json: .object($0.attributes)) } }
    }

    /// Replaces the endpoint's autoscaling policy.
    package func setAutoscaling(_ name: String, _ policy: AutoscalingConfig) throws {
        guard case .object(let attributes) = policy.json else { return }
        try registry.put(Self.autoscaling, ItemKey(name), attributes)
    }

    /// What the agent last wrote about the endpoint.
    package func status(_ name: String) throws -> [String: JSONValue]? {
        try registry.get(Self.status, ItemKey(name))?.attributes
    }

    /// Replaces the agent's record of the endpoint.
    package func writeStatus(_ name: String, _ attributes: [String: JSONValue]) {
        _ = try? registry.put(Self.status, ItemKey(name), attributes)
    }

    /// The endpoint as a person wants to see it: status, what serves, the last update.
    package func describe(_ name: String) throws -> JSONValue? {
        guard let desired = try registry.get(Self.endpoints, ItemKey(name)) else { return nil }
        let status = try self.status(name) ?? [:]
        let serving = status["serving"]?.arrayValue ?? []
        let primary = serving.max { ($0["weight"]?.doubleValue ?? 0) < ($1["weight"]?.doubleValue ?? 0) }
        var result: [String: JSONValue] = [
            "name": .string(name), "status": status["status"] ?? "Creating",
            "model": primary?["model"] ?? .null, "version": primary?["version"] ?? .null,
            "variants": .array(serving), "generation": desired.attributes["generation"] ?? .null,
            "appliedGeneration": status["appliedGeneration"] ?? .null,
            "desired": ["model": desired.attributes["model"] ?? .null, "version": desired.attributes["version"] ?? .null],
            "lastUpdate": status["lastUpdate"] ?? .null, "history": status["history"] ?? [],
            "autoscaling": autoscaling(name)?.json ?? desired.attributes["config"]?["autoscaling"] ?? .null,
            "createdAt": desired.attributes["createdAt"] ?? .null,
        ]
        if let reason = status["failureReason"] { result["failureReason"] = reason }
        return .object(result)
    }

    /// `describe` of every endpoint, by name; one that cannot be read is left out.
    package func describeAll() throws -> [JSONValue] {
        try registry.scan(Self.endpoints).items.map(\.key.partition).compactMap { try? describe($0) }
    }

    /// Every recorded configuration of the endpoint, oldest first.
    package func history(_ name: String) throws -> [(generation: Int, config: EndpointConfig)] {
        try registry.query(Self.configs, partition: name).items.compactMap { item in
            guard let sort = item.key.sort, let generation = Int(sort), let config = EndpointConfig(json: item.attributes["config"]) else { return nil }
            return (generation, config)
        }
    }

    /// Removes the endpoint (the agent stops its workers when it notices).
    package func delete(_ name: String) throws -> Bool {
        // The agent removes the status when it stops the workers: only it writes that item.
        let removed = try registry.delete(Self.endpoints, ItemKey(name)) != nil
        _ = try registry.delete(Self.autoscaling, ItemKey(name))
        return removed
    }
}
