import JSON

/// A JSONPath as Step Functions reads it: `$` (the input) or `$$` (the context object),
/// then `.name`, `['name']`, `['a','b']`, `[2]`, `[-1]`, `[*]`, `.*`, `[1:3]`, `..name`
/// and filters such as `[?(@.price > 10)]`.
///
/// A *reference path* (`ResultPath`, `ItemsPath`, Choice `Variable`, the `...Path` fields)
/// may use names and non-negative indices only, so it names exactly one node.
package struct JSONPath: Sendable, Equatable, CustomStringConvertible {
    /// Which document the path starts from.
    package enum Root: Sendable, Equatable { case input, context }

    package indirect enum Segment: Sendable, Equatable {
        case name(String)
        case names([String])
        case index(Int)
        case indices([Int])
        case wildcard
        case slice(start: Int?, end: Int?, step: Int?)
        case descendants(Segment)
        case filter(Filter)
    }

    /// `[?(@.a.b OP literal)]`, `[?(@.a)]` (the member exists), and such tests joined by
    /// `&&` and `||` (`&&` binds tighter): `anyOf` holds the `||` alternatives, each a list
    /// of tests that must all hold.
    package struct Filter: Sendable, Equatable {
        package struct Test: Sendable, Equatable {
            package var path: [Segment]
            package var op: String?
            package var literal: JSONValue?
        }

        package var anyOf: [[Test]]
    }

    package var root: Root
    package var segments: [Segment]
    /// The text it was parsed from.
    package var text: String

    package var description: String { text }

    /// Whether the path names exactly one node (names and non-negative indices only).
    package var isReference: Bool {
        segments.allSatisfy {
            switch $0 {
            case .name: return true
            case .index(let i): return i >= 0
            default: return false
            }
        }
    }

    /// Whether the path can only ever select one node (so its result is not wrapped in an array).
    package var isDefinite: Bool {
        segments.allSatisfy {
            switch $0 {
            case .name, .index: return true
            default: return false
            }
        }
    }

    /// Parses a path; the error says what is wrong and where.
    package init(_ text: String) throws(JSONPathError) {
        var parser = PathParser(text: text)
        (root, segments) = try parser.parse()
        self.text = text
    }

    /// The nodes the path selects in `document` (empty when none).
    package func select(in document: JSONValue) -> [JSONValue] {
        var current = [document]
        for segment in segments {
            current = current.flatMap { Self.apply(segment, to: $0) }
        }
        return current
    }

    /// The value a path yields as Step Functions uses it: a definite path's single node,
    /// or an array of every node an indefinite path selects. Nil when a definite path
    /// selects nothing (Step Functions then fails the state).
    package func evaluate(in document: JSONValue) -> JSONValue? {
        let nodes = select(in: document)
        if isDefinite { return nodes.first }
        return .array(nodes)
    }

    static func apply(_ segment: Segment, to node: JSONValue) -> [JSONValue] {
        switch segment {
        case .name(let name):
            if case .object(let members) = node, let value = members[name] { return [value] }
            return []
        case .names(let names):
            guard case .object(let members) = node else { return [] }
            return names.compactMap { members[$0] }
        case .index(let index):
            guard case .array(let elements) = node else { return [] }
            let i = index < 0 ? elements.count + index : index
            return elements.indices.contains(i) ? [elements[i]] : []
        case .indices(let indices):
            return indices.flatMap { apply(.index($0), to: node) }
        case .wildcard:
            switch node {
            case .array(let elements): return elements
            case .object(let members): return members.keys.sorted(by: utf8Less).map { members[$0]! }
            default: return []
            }
        case .slice(let start, let end, let step):
            guard case .array(let elements) = node else { return [] }
            return slice(elements, start: start, end: end, step: step ?? 1)
        case .descendants(let inner):
            var found: [JSONValue] = []
            func visit(_ value: JSONValue) {
                found += apply(inner, to: value)
                switch value {
                case .array(let elements): elements.forEach(visit)
                case .object(let members): members.keys.sorted(by: utf8Less).forEach { visit(members[$0]!) }
                default: break
                }
            }
            visit(node)
            return found
        case .filter(let filter):
            // As Jayway (the JSONPath of Step Functions) does: an array's elements are
            // tested; an object is tested itself.
            let candidates: [JSONValue]
            switch node {
            case .array(let elements): candidates = elements
            case .object: candidates = [node]
            default: candidates = []
            }
            return candidates.filter { filter.matches($0) }
        }
    }

    static func slice(_ elements: [JSONValue], start: Int?, end: Int?, step: Int) -> [JSONValue] {
        guard step != 0 else { return [] }
        let count = elements.count
        func clamp(_ value: Int, _ low: Int, _ high: Int) -> Int { min(max(value, low), high) }
        if step > 0 {
            let from = clamp(start.map { $0 < 0 ? count + $0 : $0 } ?? 0, 0, count)
            let to = clamp(end.map { $0 < 0 ? count + $0 : $0 } ?? count, 0, count)
            return stride(from: from, to: to, by: step).map { elements[$0] }
        }
        let from = clamp(start.map { $0 < 0 ? count + $0 : $0 } ?? count - 1, -1, count - 1)
        let to = clamp(end.map { $0 < 0 ? count + $0 : $0 } ?? -1, -1, count - 1)
        return stride(from: from, to: to, by: step).map { elements[$0] }
    }

    /// `document` with `value` placed at this reference path, creating missing objects on
    /// the way. Nil when the path runs into a value that is not an object (Step Functions
    /// then raises `States.ResultPathMatchFailure`).
    package func setting(_ value: JSONValue, in document: JSONValue) -> JSONValue? {
        Self.set(value, at: segments[...], in: document)
    }

    private static func set(_ value: JSONValue, at path: ArraySlice<Segment>, in node: JSONValue) -> JSONValue? {
        guard let first = path.first else { return value }
        switch first {
        case .name(let name):
            guard case .object(var members) = node else { return nil }
            guard let updated = set(value, at: path.dropFirst(), in: members[name] ?? .object([:])) else { return nil }
            members[name] = updated
            return .object(members)
        case .index(let index):
            guard case .array(var elements) = node, elements.indices.contains(index) else { return nil }
            guard let updated = set(value, at: path.dropFirst(), in: elements[index]) else { return nil }
            elements[index] = updated
            return .array(elements)
        default:
            return nil
        }
    }
}

extension JSONPath.Filter {
    func matches(_ candidate: JSONValue) -> Bool {
        anyOf.contains { tests in tests.allSatisfy { $0.matches(candidate) } }
    }
}

extension JSONPath.Filter.Test {
    func matches(_ candidate: JSONValue) -> Bool {
        var nodes = [candidate]
        for segment in path { nodes = nodes.flatMap { JSONPath.apply(segment, to: $0) } }
        guard let value = nodes.first else { return false }
        guard let op, let literal else { return true }
        switch (value, literal) {
        case (.string(let a), .string(let b)):
            switch op {
            case "==": return a == b
            case "!=": return a != b
            case "<": return utf8Less(a, b)
            case "<=": return !utf8Less(b, a)
            case ">": return utf8Less(b, a)
            case ">=": return !utf8Less(a, b)
            default: return false
            }
        default:
            if let a = value.doubleValue, let b = literal.doubleValue {
                switch op {
                case "==": return a == b
                case "!=": return a != b
                case "<": return a < b
                case "<=": return a <= b
                case ">": return a > b
                case ">=": return a >= b
                default: return false
                }
            }
            switch op {
            case "==": return value == literal
            case "!=": return value != literal
            default: return false
            }
        }
    }
}
