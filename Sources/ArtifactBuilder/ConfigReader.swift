import Home
import Yams

/// One problem in a `slipway.yaml`: where (key path and line), what, and what to do.
package struct ConfigDiagnostic: Sendable, Equatable, CustomStringConvertible {
    /// The dotted key path (`stages.train.resources.memory`); empty for the whole file.
    package var keyPath: String
    /// The 1-based line, when known.
    package var line: Int?
    package var message: String
    package var hint: String?

    package var description: String {
        let location = line.map { "line \($0)" } ?? "file"
        let subject = keyPath.isEmpty ? "" : " (\(keyPath))"
        return "\(location)\(subject): \(message)" + (hint.map { "; \($0)" } ?? "")
    }
}

/// Every problem of a `slipway.yaml` at once.
package struct ConfigError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The file the problems are in (a path, or `slipway.yaml at COMMIT`).
    package var file: String
    package var diagnostics: [ConfigDiagnostic]

    package init(file: String, diagnostics: [ConfigDiagnostic]) {
        self.file = file
        self.diagnostics = diagnostics
    }

    package var description: String {
        "\(file) has \(diagnostics.count) problem\(diagnostics.count == 1 ? "" : "s"):\n"
            + diagnostics.map { "  " + $0.description }.joined(separator: "\n")
    }
}

/// Walks a YAML node tree, reading typed values and collecting every problem with its
/// key path and line instead of stopping at the first.
struct ConfigReader {
    var diagnostics: [ConfigDiagnostic] = []
    /// The line of each repository path read, by key path.
    var lines: [String: Int] = [:]

    mutating func report(_ path: String, _ node: Node?, _ message: String, hint: String? = nil) {
        diagnostics.append(ConfigDiagnostic(keyPath: path, line: node?.mark?.line, message: message, hint: hint))
    }

    /// The members of a mapping by key, reporting unknown keys (with a suggestion),
    /// missing required keys and a node that is not a mapping.
    mutating func mapping(_ node: Node?, at path: String, known: [String], required: [String] = []) -> [String: Node]? {
        guard let node else { return nil }
        guard case .mapping(let mapping) = node else {
            report(path, node, "expected a mapping of \(known.joined(separator: ", ")), found \(describe(node))")
            return nil
        }
        var members: [String: Node] = [:]
        for (key, value) in mapping {
            guard let name = key.string else {
                report(path, key, "keys must be strings, found \(describe(key))")
                continue
            }
            if !known.contains(name) {
                let place = path.isEmpty ? "the top level" : path
                let suggestion = Self.suggestion(for: name, among: known)
                report(join(path, name), key, "unknown key '\(name)' in \(place)",
                       hint: suggestion.map { "did you mean '\($0)'?" } ?? "expected one of \(known.joined(separator: ", "))")
                continue
            }
            members[name] = value
        }
        for name in required where members[name] == nil {
            report(join(path, name), node, "missing required key '\(name)'")
        }
        return members
    }

    mutating func string(_ node: Node?, at path: String) -> String? {
        guard let node else { return nil }
        guard case .scalar(let scalar) = node, node.tag.rawValue != Tag.Name.null.rawValue || !scalar.string.isEmpty else {
            report(path, node, "expected a string, found \(describe(node))")
            return nil
        }
        return scalar.string
    }

    mutating func int(_ node: Node?, at path: String, range: ClosedRange<Int>) -> Int? {
        guard let node else { return nil }
        guard let value = Self.integer(node), range.contains(value) else {
            report(path, node, "expected a whole number from \(range.lowerBound) to \(range.upperBound), found \(describe(node))")
            return nil
        }
        return value
    }

    /// A finite number (`.inf` and `.nan` are refused), within `range` when given; a value
    /// outside it is reported with the bound.
    mutating func double(_ node: Node?, at path: String, range: ClosedRange<Double>? = nil, above lower: Double? = nil) -> Double? {
        guard let node else { return nil }
        guard let value = Self.integer(node).map(Double.init) ?? Self.float(node), value.isFinite else {
            report(path, node, "expected a finite number, found \(describe(node))")
            return nil
        }
        let inRange = range.map { $0.contains(value) } ?? true
        guard inRange && lower.map({ value > $0 }) ?? true else {
            let least = lower.map { "more than \(Self.format($0))" } ?? range.map { "at least \(Self.format($0.lowerBound))" } ?? ""
            let most = range.map { " and at most \(Self.format($0.upperBound))" } ?? ""
            report(path, node, "\(Self.last(path)) must be \(least)\(most), not \(describe(node))")
            return nil
        }
        return value
    }

    /// A duration (`90s`, `1h30m`, `45`) in seconds, at most `limit` seconds; a value past
    /// it (however large) is reported with the bound, never computed into an overflow.
    mutating func duration(_ node: Node?, at path: String, limit: Int, example: String = "90s, 30m or 2h") -> Int? {
        guard let raw = string(node, at: path) else { return nil }
        guard let seconds = ModelConfig.parseDuration(raw) else {
            report(path, node, "invalid \(Self.last(path)) '\(raw)'", hint: "use a duration such as \(example), at most \(Self.duration(limit))")
            return nil
        }
        guard seconds <= limit else {
            report(path, node, "\(Self.last(path)) '\(raw)' is longer than the limit of \(Self.duration(limit))",
                   hint: "give at most \(Self.duration(limit))")
            return nil
        }
        return seconds
    }

    /// A size (`512MiB`, `2GiB`, `1048576`) in bytes, within `range`.
    mutating func size(_ node: Node?, at path: String, range: ClosedRange<Int64>) -> Int64? {
        guard let raw = string(node, at: path) else { return nil }
        guard let bytes = ModelConfig.parseSize(raw) else {
            report(path, node, "invalid \(Self.last(path)) size '\(raw)'", hint: "use a size such as 512MiB or 2GiB")
            return nil
        }
        guard range.contains(bytes) else {
            report(path, node, "\(Self.last(path)) '\(raw)' is outside the bounds \(Self.size(range.lowerBound)) to \(Self.size(range.upperBound))",
                   hint: "give a size from \(Self.size(range.lowerBound)) to \(Self.size(range.upperBound))")
            return nil
        }
        return bytes
    }

    /// Reports `name` (read at `path`) when it is not a `SafeName`: it becomes a path.
    mutating func requireSafeName(_ name: String, what: String, at path: String, _ node: Node?, becomes: String) {
        guard let problem = SafeName.problem(with: name) else { return }
        report(path, node, "invalid \(what) name '\(name)': \(problem)", hint: "\(SafeName.rule) (it becomes \(becomes))")
    }

    /// A plain scalar's whole number, decimal only. Not Yams' `Node.int`: its base-60 form
    /// (`1:2:3:…`) overflows and traps on a long enough value.
    static func integer(_ node: Node) -> Int? {
        guard case .scalar(let scalar) = node, scalar.style == .plain || scalar.style == .any else { return nil }
        let text = scalar.string.replacingOccurrences(of: "_", with: "")
        guard !text.contains(":") else { return nil }
        return Int(text)
    }

    /// A plain scalar's floating-point number (`.inf` and `.nan` included; callers refuse them).
    static func float(_ node: Node) -> Double? {
        guard case .scalar(let scalar) = node, scalar.style == .plain || scalar.style == .any else { return nil }
        return node.float
    }

    static func last(_ path: String) -> String { String(path.split(separator: ".").last ?? Substring(path)) }

    static func format(_ value: Double) -> String { value == value.rounded() && abs(value) < 1e15 ? String(Int(value)) : "\(value)" }

    /// `604800` → `7d`, `5400` → `90m`, `45` → `45s`.
    static func duration(_ seconds: Int) -> String {
        for (unit, length) in [("d", 86_400), ("h", 3600), ("m", 60)] where seconds % length == 0 && seconds >= length {
            return "\(seconds / length)\(unit)"
        }
        return "\(seconds)s"
    }

    /// `1099511627776` → `1TiB`.
    static func size(_ bytes: Int64) -> String {
        for (unit, length) in [("TiB", Int64(1) << 40), ("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)] where bytes % length == 0 && bytes >= length {
            return "\(bytes / length)\(unit)"
        }
        return "\(bytes) bytes"
    }

    mutating func bool(_ node: Node?, at path: String) -> Bool? {
        guard let node else { return nil }
        guard let value = node.bool else {
            report(path, node, "expected true or false, found \(describe(node))")
            return nil
        }
        return value
    }

    /// A list of strings; a single string counts as a list of one.
    mutating func strings(_ node: Node?, at path: String) -> [String]? {
        guard let node else { return nil }
        if case .scalar = node { return string(node, at: path).map { [$0] } }
        guard case .sequence(let sequence) = node else {
            report(path, node, "expected a list of strings, found \(describe(node))")
            return nil
        }
        return sequence.enumerated().compactMap { index, element in string(element, at: "\(path)[\(index)]") }
    }

    /// A mapping of names to scalar values, in file order, values as strings.
    mutating func scalarMap(_ node: Node?, at path: String) -> [(String, String)]? {
        guard let node else { return nil }
        guard case .mapping(let mapping) = node else {
            report(path, node, "expected a mapping of names to values, found \(describe(node))")
            return nil
        }
        var pairs: [(String, String)] = []
        for (key, value) in mapping {
            guard let name = key.string, case .scalar(let scalar) = value else {
                report(join(path, key.string ?? "?"), value, "expected a single value (string or number), found \(describe(value))")
                continue
            }
            pairs.append((name, scalar.string))
        }
        return pairs
    }

    /// A path inside the repository: relative, without `..`, normalised (`./a//b` → `a/b`).
    mutating func repositoryPath(_ node: Node?, at path: String) -> String? {
        guard let raw = string(node, at: path) else { return nil }
        lines[path] = node?.mark?.line
        if raw.hasPrefix("/") {
            report(path, node, "'\(raw)' is an absolute path", hint: "give a path inside the repository, or use 'host:' for data outside it")
            return nil
        }
        let parts = raw.split(separator: "/").filter { $0 != "." }
        if parts.contains("..") {
            report(path, node, "'\(raw)' leaves the repository", hint: "paths must stay inside the repository; remove '..'")
            return nil
        }
        if parts.isEmpty {
            report(path, node, "'\(raw)' names no file", hint: "give a file or folder of the repository")
            return nil
        }
        return parts.joined(separator: "/")
    }

    /// A list of repository paths; a single path counts as a list of one.
    mutating func repositoryPaths(_ node: Node?, at path: String) -> [String] {
        guard let node else { return [] }
        guard case .sequence(let sequence) = node else { return repositoryPath(node, at: path).map { [$0] } ?? [] }
        return sequence.enumerated().compactMap { index, element in repositoryPath(element, at: "\(path)[\(index)]") }
    }

    func join(_ path: String, _ key: String) -> String { path.isEmpty ? key : path + "." + key }

    func describe(_ node: Node) -> String {
        switch node {
        case .scalar(let scalar): return scalar.string.isEmpty ? "nothing" : "'\(scalar.string)'"
        case .mapping: return "a mapping"
        case .sequence: return "a list"
        case .alias: return "an alias"
        }
    }

    /// The known key closest to `name`, when one is close enough to be a typo.
    static func suggestion(for name: String, among known: [String]) -> String? {
        let lower = name.lowercased()
        let scored = known.map { candidate -> (String, Int) in
            let shared = zip(lower, candidate).prefix { $0 == $1 }.count
            if shared >= max(4, min(lower.count, candidate.count) * 2 / 3) { return (candidate, 0) }  // an abbreviation
            return (candidate, editDistance(lower, candidate))
        }
        guard let best = scored.min(by: { $0.1 < $1.1 }), best.1 <= max(2, name.count / 3) else { return nil }
        return best.0
    }

    static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
        var previous = Array(0...b.count)
        for i in 1...max(a.count, 1) where !a.isEmpty {
            var current = [i] + Array(repeating: 0, count: b.count)
            for j in 1...max(b.count, 1) where !b.isEmpty {
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            }
            previous = current
        }
        return previous[b.count]
    }
}
