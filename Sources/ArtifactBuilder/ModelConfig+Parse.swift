import Foundation
import Home
import Yams

extension ModelConfig {
    /// The file name at the root of a model repository.
    package static let fileName = "slipway.yaml"

    /// Decodes and validates `slipway.yaml` text, reporting every problem at once. `file`
    /// names the text in messages. Paths are checked for shape here; `check(against:)`
    /// checks that they exist in the repository.
    package static func parse(_ text: String, file: String = fileName) throws(ConfigError) -> ModelConfig {
        let root: Node?
        do {
            root = try Yams.compose(yaml: text)
        } catch let error as YamlError {
            throw ConfigError(file: file, diagnostics: [Self.diagnostic(for: error)])
        } catch {
            throw ConfigError(file: file, diagnostics: [ConfigDiagnostic(keyPath: "", line: nil, message: "not YAML: \(error)")])
        }
        var reader = ConfigReader()
        let config = decode(root, reader: &reader)
        guard reader.diagnostics.isEmpty, let config else {
            throw ConfigError(file: file, diagnostics: reader.diagnostics.sorted { ($0.line ?? 0) < ($1.line ?? 0) })
        }
        return config
    }

    private static func diagnostic(for error: YamlError) -> ConfigDiagnostic {
        switch error {
        case .scanner(_, let problem, let mark, _), .parser(_, let problem, let mark, _):
            return ConfigDiagnostic(keyPath: "", line: mark.line, message: "invalid YAML: \(problem)", hint: "check the indentation and quoting")
        default:
            return ConfigDiagnostic(keyPath: "", line: nil, message: "invalid YAML: \(error)")
        }
    }

    static let topKeys = ["version", "name", "description", "requirements", "branches", "data", "stages", "gates",
                          "approval", "deploy", "notify", "build", "compose"]

    private static func decode(_ root: Node?, reader: inout ConfigReader) -> ModelConfig? {
        guard let root else {
            reader.report("", nil, "the file is empty", hint: "start from `slipway model init`")
            return nil
        }
        guard let top = reader.mapping(root, at: "", known: topKeys, required: ["version", "name", "stages"]) else { return nil }
        let version = reader.int(top["version"], at: "version", range: 1...Int.max)
        if let version, !supportedVersions.contains(version) {
            reader.report("version", top["version"], "schema version \(version) is not supported",
                          hint: "this slipway reads version \(supportedVersions.map(String.init).joined(separator: ", ")); upgrade slipway")
        }
        let name = reader.string(top["name"], at: "name")
        if let name, !isValidName(name) {
            reader.report("name", top["name"], "invalid model name '\(name)'",
                          hint: "use 1 to 63 lowercase letters, digits, '-' or '_', starting with a letter")
        }
        let data = decodeData(top["data"], reader: &reader)
        let compose = decodeCompose(top["compose"], reader: &reader)
        let stages = decodeStages(top["stages"], composite: !compose.isEmpty, reader: &reader)
        for (kind, stage) in stages {
            for (index, input) in stage.inputs.enumerated() where !data.contains(where: { $0.name == input }) {
                reader.report("stages.\(kind.rawValue).inputs[\(index)]", top["stages"], "unknown data input '\(input)'",
                              hint: data.isEmpty ? "declare it under 'data'" : "declared inputs: \(data.map(\.name).joined(separator: ", "))")
            }
        }
        let gates = decodeGates(top["gates"], reader: &reader)
        if !gates.isEmpty && stages[.evaluate] == nil {
            reader.report("gates", top["gates"], "gates need an evaluate stage to produce metrics", hint: "add stages.evaluate")
        }
        var approval = Approval.manual
        if let raw = reader.string(top["approval"], at: "approval") {
            if let value = Approval(rawValue: raw) { approval = value } else {
                reader.report("approval", top["approval"], "unknown approval '\(raw)'", hint: "use manual or auto")
            }
        }
        let config = ModelConfig(
            version: version ?? 0, name: name ?? "",
            description: reader.string(top["description"], at: "description"),
            requirements: reader.repositoryPath(top["requirements"], at: "requirements"),
            branches: reader.strings(top["branches"], at: "branches") ?? [],
            data: data, stages: stages, gates: gates, approval: approval,
            deploy: decodeDeploy(top["deploy"], reader: &reader),
            notify: decodeNotify(top["notify"], reader: &reader),
            buildSteps: decodeBuild(top["build"], stages: stages, reader: &reader), lines: reader.lines)
        var result = config
        result.compose = compose
        if let train = top["build"]?.mapping?["train"] {
            result.trainAfterBuild = reader.bool(train, at: "build.train") ?? true
        }
        return result
    }

    static func isValidName(_ name: String) -> Bool {
        guard let first = name.unicodeScalars.first, ("a"..."z").contains(first), name.unicodeScalars.count <= 63 else { return false }
        return name.unicodeScalars.allSatisfy { ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "-" || $0 == "_" }
    }

    private static func decodeData(_ node: Node?, reader: inout ConfigReader) -> [DataInput] {
        guard let node else { return [] }
        guard case .mapping(let mapping) = node else {
            reader.report("data", node, "expected a mapping of input names to {path: ...} or {host: ...}")
            return []
        }
        var inputs: [DataInput] = []
        for (key, value) in mapping {
            guard let name = key.string else {
                reader.report("data", key, "data input names must be strings, found \(reader.describe(key))")
                continue
            }
            let path = "data.\(name)"
            reader.requireSafeName(name, what: "data input", at: path, key, becomes: "the folder /opt/ml/processing/input/\(name) of a job")
            guard let fields = reader.mapping(value, at: path, known: ["path", "host"]) else { continue }
            switch (fields["path"], fields["host"]) {
            case (let repo?, nil):
                if let p = reader.repositoryPath(repo, at: path + ".path") { inputs.append(DataInput(name: name, source: .repository(p))) }
            case (nil, let host?):
                if let h = reader.string(host, at: path + ".host") {
                    if h.hasPrefix("/") { inputs.append(DataInput(name: name, source: .host(h))) } else {
                        reader.report(path + ".host", host, "'\(h)' is not an absolute path", hint: "host data is a file or folder on this machine, such as /srv/data/sales.csv")
                    }
                }
            default:
                reader.report(path, value, "give exactly one of 'path' (in the repository) or 'host' (outside it)")
            }
        }
        return inputs.sorted { $0.name < $1.name }
    }

    private static func decodeStages(_ node: Node?, composite: Bool, reader: inout ConfigReader) -> [StageKind: Stage] {
        // A composite serves what other endpoints answer: it has a serve stage and nothing to train.
        guard let members = reader.mapping(node, at: "stages", known: composite ? ["serve"] : StageKind.allCases.map(\.rawValue),
                                           required: [composite ? "serve" : "train"]) else {
            return [:]
        }
        var stages: [StageKind: Stage] = [:]
        for kind in StageKind.allCases {
            guard let node = members[kind.rawValue] else { continue }
            if let stage = decodeStage(kind, node, reader: &reader) { stages[kind] = stage }
        }
        return stages
    }

    /// `compose: {MEMBER: ENDPOINT, ...}`: the endpoints a composite's serve script combines.
    private static func decodeCompose(_ node: Node?, reader: inout ConfigReader) -> [String: String] {
        guard let node else { return [:] }
        guard case .mapping(let mapping) = node, !mapping.isEmpty else {
            reader.report("compose", node, "expected a mapping of member names to endpoint names", hint: "for example {demand: demand, elasticity: elasticity}")
            return [:]
        }
        var members: [String: String] = [:]
        for (key, value) in mapping {
            guard let member = key.string else { continue }
            guard let endpoint = reader.string(value, at: "compose.\(member)") else { continue }
            if !isValidName(endpoint) {
                reader.report("compose.\(member)", value, "invalid endpoint name '\(endpoint)'", hint: "use lowercase letters, digits, '-' or '_', starting with a letter")
            }
            members[member] = endpoint
        }
        return members
    }

    private static func decodeStage(_ kind: StageKind, _ node: Node, reader: inout ConfigReader) -> Stage? {
        let path = "stages.\(kind.rawValue)"
        var known = ["script", "include", "arguments", "resources", "network", "retry", "cache"]
        switch kind {
        case .preprocess: known += ["inputs", "outputs"]
        case .train: known += ["hyperparameters"]
        case .evaluate, .serve: break
        }
        guard let fields = reader.mapping(node, at: path, known: known, required: ["script"]) else { return nil }
        let script = reader.repositoryPath(fields["script"], at: path + ".script")
        let include = reader.repositoryPaths(fields["include"], at: path + ".include")
        var stage = Stage(
            kind: kind, script: script ?? "", include: include,
            arguments: reader.strings(fields["arguments"], at: path + ".arguments") ?? [],
            hyperparameters: reader.scalarMap(fields["hyperparameters"], at: path + ".hyperparameters") ?? [],
            inputs: reader.strings(fields["inputs"], at: path + ".inputs") ?? [],
            outputs: reader.strings(fields["outputs"], at: path + ".outputs") ?? [],
            resources: Resources(), network: reader.bool(fields["network"], at: path + ".network") ?? false,
            retry: RetryPolicy(), cache: reader.bool(fields["cache"], at: path + ".cache") ?? true)
        if kind == .preprocess && stage.outputs.isEmpty { stage.outputs = ["train", "test"] }
        for (index, output) in stage.outputs.enumerated() {
            reader.requireSafeName(output, what: "output", at: "\(path).outputs[\(index)]", fields["outputs"],
                                   becomes: "/opt/ml/processing/\(output) and the training channel \(output)")
        }
        for (index, input) in stage.inputs.enumerated() {
            reader.requireSafeName(input, what: "data input", at: "\(path).inputs[\(index)]", fields["inputs"],
                                   becomes: "the folder /opt/ml/processing/input/\(input) of the job")
        }
        if let resources = reader.mapping(fields["resources"], at: path + ".resources", known: ["cpus", "memory", "timeout"]) {
            let bounds = ResourceBounds.self
            stage.resources.cpus = reader.double(resources["cpus"], at: path + ".resources.cpus", range: 0...bounds.maxCPUs, above: 0)
                ?? stage.resources.cpus
            stage.resources.memoryBytes = reader.size(resources["memory"], at: path + ".resources.memory", range: bounds.memoryBytes)
                ?? stage.resources.memoryBytes
            stage.resources.timeoutSeconds = reader.duration(resources["timeout"], at: path + ".resources.timeout", limit: bounds.maxTimeoutSeconds)
                ?? stage.resources.timeoutSeconds
        }
        if let retry = reader.mapping(fields["retry"], at: path + ".retry", known: ["attempts", "interval", "backoff"]) {
            stage.retry.attempts = reader.int(retry["attempts"], at: path + ".retry.attempts", range: 0...10) ?? 0
            stage.retry.intervalSeconds = reader.duration(retry["interval"], at: path + ".retry.interval", limit: 86_400, example: "10s")
                ?? stage.retry.intervalSeconds
            stage.retry.backoffRate = reader.double(retry["backoff"], at: path + ".retry.backoff", range: 1...10) ?? 2
        }
        return stage
    }

    private static func decodeGates(_ node: Node?, reader: inout ConfigReader) -> [Gate] {
        guard let node else { return [] }
        guard case .sequence(let sequence) = node else {
            reader.report("gates", node, "expected a list of {metric: ..., min: ..., max: ...}")
            return []
        }
        return sequence.enumerated().compactMap { index, element in
            let path = "gates[\(index)]"
            guard let fields = reader.mapping(element, at: path, known: ["metric", "min", "max"], required: ["metric"]),
                let metric = reader.string(fields["metric"], at: path + ".metric")
            else { return nil }
            // Finite thresholds only: a NaN would make every comparison false.
            let gate = Gate(metric: metric, min: reader.double(fields["min"], at: path + ".min"), max: reader.double(fields["max"], at: path + ".max"))
            if gate.min == nil && gate.max == nil {
                reader.report(path, element, "gate on '\(metric)' has no threshold", hint: "add min:, max: or both")
            }
            return gate
        }
    }

    private static func decodeDeploy(_ node: Node?, reader: inout ConfigReader) -> DeploySettings {
        var deploy = DeploySettings()
        guard let fields = reader.mapping(node, at: "deploy", known: ["endpoint", "workers", "strategy", "min_workers", "max_workers",
                                                                 "target_in_flight", "scale_in_cooldown", "step", "bake",
                                                                 "error_threshold", "health_timeout", "timeout", "on_approval"]) else {
            return deploy
        }
        deploy.endpoint = reader.string(fields["endpoint"], at: "deploy.endpoint")
        if let endpoint = deploy.endpoint, !isValidName(endpoint) {
            reader.report("deploy.endpoint", fields["endpoint"], "invalid endpoint name '\(endpoint)'", hint: "use lowercase letters, digits, '-' or '_'")
        }
        deploy.workers = reader.int(fields["workers"], at: "deploy.workers", range: 1...64) ?? deploy.workers
        deploy.minWorkers = reader.int(fields["min_workers"], at: "deploy.min_workers", range: 1...64) ?? deploy.minWorkers
        deploy.maxWorkers = reader.int(fields["max_workers"], at: "deploy.max_workers", range: 1...64) ?? max(deploy.maxWorkers, deploy.workers)
        if let strategy = reader.string(fields["strategy"], at: "deploy.strategy") {
            if ["all-at-once", "canary", "linear"].contains(strategy) { deploy.strategy = strategy } else {
                reader.report("deploy.strategy", fields["strategy"], "unknown strategy '\(strategy)'", hint: "use all-at-once, canary or linear")
            }
        }
        func seconds(_ key: String, _ keep: Int, limit: Int = 86_400) -> Int {
            reader.duration(fields[key], at: "deploy." + key, limit: limit, example: "30s, 5m or 1h") ?? keep
        }
        func fraction(_ key: String, _ keep: Double) -> Double {
            guard let value = reader.double(fields[key], at: "deploy." + key) else { return keep }
            guard value > 0 && value < 1 else {
                reader.report("deploy." + key, fields[key], "\(key) must be between 0 and 1, not \(value)", hint: "for example 0.1 for 10%")
                return keep
            }
            return value
        }
        deploy.targetInFlight = reader.double(fields["target_in_flight"], at: "deploy.target_in_flight", range: 0...10_000, above: 0)
            ?? deploy.targetInFlight
        deploy.scaleInCooldownSeconds = seconds("scale_in_cooldown", deploy.scaleInCooldownSeconds)
        deploy.step = fraction("step", deploy.step)
        deploy.bakeSeconds = seconds("bake", deploy.bakeSeconds)
        deploy.errorThreshold = fraction("error_threshold", deploy.errorThreshold)
        deploy.healthTimeoutSeconds = seconds("health_timeout", deploy.healthTimeoutSeconds)
        deploy.timeoutSeconds = seconds("timeout", deploy.timeoutSeconds, limit: ResourceBounds.maxTimeoutSeconds)
        deploy.onApproval = reader.bool(fields["on_approval"], at: "deploy.on_approval") ?? false
        if deploy.minWorkers > deploy.maxWorkers {
            reader.report("deploy", node, "min_workers (\(deploy.minWorkers)) is more than max_workers (\(deploy.maxWorkers))")
        }
        return deploy
    }

    private static func decodeNotify(_ node: Node?, reader: inout ConfigReader) -> [NotifyTarget] {
        guard let node else { return [] }
        guard case .sequence(let sequence) = node else {
            reader.report("notify", node, "expected a list of {file: PATH}, {command: CMD} or {webhook: URL}")
            return []
        }
        return sequence.enumerated().compactMap { index, element in
            let path = "notify[\(index)]"
            guard let fields = reader.mapping(element, at: path, known: ["file", "command", "webhook"]), fields.count == 1 else {
                if case .mapping = element { reader.report(path, element, "give exactly one of file, command, webhook") }
                return nil
            }
            if let file = reader.string(fields["file"], at: path + ".file") { return .file(file) }
            if let command = reader.string(fields["command"], at: path + ".command") { return .command(command) }
            if let url = reader.string(fields["webhook"], at: path + ".webhook") {
                guard url.hasPrefix("http://") || url.hasPrefix("https://") else {
                    reader.report(path + ".webhook", fields["webhook"], "'\(url)' is not an http(s) URL")
                    return nil
                }
                return .webhook(url)
            }
            return nil
        }
    }

    private static func decodeBuild(_ node: Node?, stages: [StageKind: Stage], reader: inout ConfigReader) -> [BuildStep] {
        guard let fields = reader.mapping(node, at: "build", known: ["steps", "train"]), let steps = fields["steps"] else { return [] }
        guard case .sequence(let sequence) = steps else {
            reader.report("build.steps", steps, "expected a list of {name, stage, run}")
            return []
        }
        return sequence.enumerated().compactMap { index, element in
            let path = "build.steps[\(index)]"
            guard let step = reader.mapping(element, at: path, known: ["name", "stage", "run"], required: ["run"]),
                let run = reader.string(step["run"], at: path + ".run")
            else { return nil }
            let stageName = reader.string(step["stage"], at: path + ".stage") ?? StageKind.train.rawValue
            guard let kind = StageKind(rawValue: stageName), stages[kind] != nil else {
                reader.report(path + ".stage", step["stage"] ?? element, "no stage '\(stageName)' to run this step in",
                              hint: "use one of \(stages.keys.sorted().map(\.rawValue).joined(separator: ", "))")
                return nil
            }
            return BuildStep(name: reader.string(step["name"], at: path + ".name") ?? run, stage: kind, run: run)
        }
    }

    /// `512MiB`, `2GiB`, `1G`, `100M`, `1048576` → bytes. Total: a size too large for
    /// `Int64` is `Int64.max` (the caller's bound reports it); nil when not a positive size.
    package static func parseSize(_ text: String) -> Int64? {
        let units: [(String, Int64)] = [("KiB", 1 << 10), ("MiB", 1 << 20), ("GiB", 1 << 30), ("TiB", 1 << 40),
                                        ("K", 1000), ("M", 1_000_000), ("G", 1_000_000_000), ("T", 1_000_000_000_000), ("B", 1), ("", 1)]
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        for (suffix, factor) in units where trimmed.hasSuffix(suffix) {
            let number = trimmed.dropLast(suffix.count).trimmingCharacters(in: .whitespaces)
            guard number.unicodeScalars.allSatisfy({ ("0"..."9").contains($0) || $0 == "." }), let value = Double(number),
                value.isFinite, value > 0
            else { continue }
            let bytes = value * Double(factor)
            return bytes < 9e18 ? max(1, Int64(bytes)) : Int64.max
        }
        return nil
    }

    /// `90s`, `30m`, `2h`, `1h30m`, `2d`, `45` (seconds) → seconds. Total: a well-formed
    /// duration too long for `Int` is `Int.max` (the caller's bound reports it), never an
    /// overflow; nil when not a positive duration.
    package static func parseDuration(_ text: String) -> Int? {
        var total = 0
        var number = ""
        var sawUnit = false
        func add(_ digits: String, times unit: Int) -> Bool {
            guard !digits.isEmpty else { return false }
            // All ASCII digits, so a failed `Int` means too large: saturate.
            let value = Int(digits) ?? Int.max
            let (product, overflow) = value.multipliedReportingOverflow(by: unit)
            let (sum, overflowAgain) = total.addingReportingOverflow(overflow ? Int.max : product)
            total = overflow || overflowAgain ? Int.max : sum
            return true
        }
        for character in text.trimmingCharacters(in: .whitespaces).unicodeScalars {
            if ("0"..."9").contains(character) { number.unicodeScalars.append(character); continue }
            let unit: Int
            switch character {
            case "s": unit = 1
            case "m": unit = 60
            case "h": unit = 3600
            case "d": unit = 86400
            default: return nil
            }
            guard add(number, times: unit) else { return nil }
            number = ""
            sawUnit = true
        }
        if !number.isEmpty {
            guard !sawUnit, add(number, times: 1) else { return nil }
        }
        return total > 0 ? total : nil
    }
}
