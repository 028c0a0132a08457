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
        guard let value = node.int, range.contains(value) else {
            report(path, node, "expected a whole number from \(range.lowerBound) to \(range.upperBound), found \(describe(node))")
            return nil
        }
        return value
    }

    mutating func double(_ node: Node?, at path: String) -> Double? {
        guard let node else { return nil }
        guard let value = node.float ?? node.int.map(Double.init) else {
            report(path, node, "expected a number, found \(describe(node))")
            return nil
        }
        return value
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
