import Foundation
import Registry

/// One production variant: a model version served by a pool of workers.
package struct VariantConfig: Sendable, Equatable {
    /// The variant's name (unique in the endpoint), e.g. `churn-v3`.
    package var name: String
    package var model: String
    package var version: Int
    /// The serve stage's artifact code folder, its script and its environment's interpreter.
    package var code: String
    package var script: String
    package var python: String
    /// The trained model, `model.tar.gz`, and its content digest (the unpacked folder's
    /// name); both empty for a composite, whose workers get an empty model folder.
    package var modelArchive: String
    package var modelDigest: String
    /// Workers started before any traffic moves.
    package var workers: Int = 1
    /// Relative traffic weight among the endpoint's variants.
    package var weight: Double = 1
    /// Each worker's address-space limit.
    package var memoryBytes: Int64 = 2 << 30

    /// A variant of one worker, weight 1 and a 2 GiB memory limit.
    package init(name: String, model: String, version: Int, code: String, script: String, python: String, modelArchive: String, modelDigest: String) {
        self.name = name
        self.model = model
        self.version = version
        self.code = code
        self.script = script
        self.python = python
        self.modelArchive = modelArchive
        self.modelDigest = modelDigest
    }
}

/// Autoscaling: keep in-flight requests per worker near `targetInFlight`.
package struct AutoscalingConfig: Sendable, Equatable {
    package var minWorkers = 1
    package var maxWorkers = 4
    /// In-flight requests per worker (queued ones count) the scaler aims at.
    package var targetInFlight = 2.0
    /// Seconds after any scaling before workers are removed again.
    package var scaleInCooldown = 30.0
    /// The defaults.
    package init() {}
}

/// How traffic moves from the old variants to the new ones.
package struct TrafficConfig: Sendable, Equatable {
    /// `all-at-once`, `canary` (a share for the bake time, then the rest) or `linear`
    /// (equal steps, each baked).
    package enum Mode: String, Sendable { case allAtOnce = "all-at-once", canary, linear }
    package var mode = Mode.allAtOnce
    /// The canary's share, or each linear step's, of the traffic (0...1).
    package var step = 0.1
    /// Seconds each share is watched before the next move (and after the last).
    package var bakeSeconds = 0.0
    /// A new variant answering more than this share of requests with 5xx during a bake
    /// (at least `minimumRequests` seen) rolls the update back.
    package var errorThreshold = 0.05
    package var minimumRequests = 5
    /// Seconds the new workers have to load their model and answer a ping.
    package var healthTimeout = 120.0
    /// The defaults.
    package init() {}
}

/// An endpoint's whole configuration (one generation of it).
package struct EndpointConfig: Sendable, Equatable {
    package var variants: [VariantConfig]
    package var autoscaling = AutoscalingConfig()
    package var traffic = TrafficConfig()
    /// A composite's members: the name its script uses → the endpoint it calls. Empty for a
    /// plain model endpoint.
    package var members: [String: String] = [:]

    /// A configuration of `variants` with default autoscaling and traffic settings.
    package init(variants: [VariantConfig]) { self.variants = variants }
}

// MARK: - JSON

extension VariantConfig {
    /// The configuration as stored in the registry.
    package var json: JSONValue {
        [
            "name": .string(name), "model": .string(model), "version": .int(Int64(version)), "code": .string(code), "script": .string(script),
            "python": .string(python), "modelArchive": .string(modelArchive), "modelDigest": .string(modelDigest),
            "workers": .int(Int64(workers)), "weight": .double(weight), "memory": .int(memoryBytes),
        ]
    }

    /// Reads a stored variant; nil when a required field is missing.
    package init?(json: JSONValue) {
        guard let name = json["name"]?.stringValue, let model = json["model"]?.stringValue, let version = json["version"]?.intValue,
            let code = json["code"]?.stringValue, let script = json["script"]?.stringValue, let python = json["python"]?.stringValue,
            let archive = json["modelArchive"]?.stringValue, let digest = json["modelDigest"]?.stringValue
        else { return nil }
        self.init(name: name, model: model, version: Int(version), code: code, script: script, python: python, modelArchive: archive, modelDigest: digest)
        workers = Int(json["workers"]?.intValue ?? 1)
        weight = json["weight"]?.doubleValue ?? 1
        memoryBytes = json["memory"]?.intValue ?? (2 << 30)
    }
}

extension AutoscalingConfig {
    /// The configuration as stored in the registry.
    package var json: JSONValue {
        ["minWorkers": .int(Int64(minWorkers)), "maxWorkers": .int(Int64(maxWorkers)), "targetInFlight": .double(targetInFlight),
         "scaleInCooldown": .double(scaleInCooldown)]
    }

    /// Reads a stored value; missing fields keep their defaults.
    package init(json: JSONValue?) {
        self.init()
        guard let json else { return }
        minWorkers = Int(json["minWorkers"]?.intValue ?? Int64(minWorkers))
        maxWorkers = Int(json["maxWorkers"]?.intValue ?? Int64(maxWorkers))
        targetInFlight = json["targetInFlight"]?.doubleValue ?? targetInFlight
        scaleInCooldown = json["scaleInCooldown"]?.doubleValue ?? scaleInCooldown
    }
}

extension TrafficConfig {
    /// The configuration as stored in the registry.
    package var json: JSONValue {
        ["mode": .string(mode.rawValue), "step": .double(step), "bakeSeconds": .double(bakeSeconds), "errorThreshold": .double(errorThreshold),
         "minimumRequests": .int(Int64(minimumRequests)), "healthTimeout": .double(healthTimeout)]
    }

    /// Reads a stored value; missing fields keep their defaults.
    package init(json: JSONValue?) {
        self.init()
        guard let json else { return }
        mode = json["mode"]?.stringValue.flatMap(Mode.init(rawValue:)) ?? mode
        step = json["step"]?.doubleValue ?? step
        bakeSeconds = json["bakeSeconds"]?.doubleValue ?? bakeSeconds
        errorThreshold = json["errorThreshold"]?.doubleValue ?? errorThreshold
        minimumRequests = Int(json["minimumRequests"]?.intValue ?? Int64(minimumRequests))
        healthTimeout = json["healthTimeout"]?.doubleValue ?? healthTimeout
    }
}

extension EndpointConfig {
    /// The configuration as stored in the registry.
    package var json: JSONValue {
        var json: [String: JSONValue] = ["variants": .array(variants.map(\.json)), "autoscaling": autoscaling.json, "traffic": traffic.json]
        if !members.isEmpty { json["members"] = .object(members.mapValues { .string($0) }) }
        return .object(json)
    }

    /// Reads a stored configuration; nil without at least one valid variant.
    package init?(json: JSONValue?) {
        guard let json, let variants = json["variants"]?.arrayValue?.compactMap(VariantConfig.init(json:)), !variants.isEmpty else { return nil }
        self.init(variants: variants)
        autoscaling = AutoscalingConfig(json: json["autoscaling"])
        traffic = TrafficConfig(json: json["traffic"])
        members = (json["members"]?.objectValue ?? [:]).compactMapValues(\.stringValue)
    }
}
