import JSON

/// Why a path does not parse.
package struct JSONPathError: Error, Sendable, Equatable, CustomStringConvertible {
    package var path: String
    package var message: String
    package var description: String { "invalid JSONPath '\(path)': \(message)" }
}

struct PathParser {
    let text: String
    let chars: [Character]
    var index = 0

    init(text: String) {
        self.text = text
        chars = Array(text)
    }

    func fail(_ message: String) -> JSONPathError { JSONPathError(path: text, message: message) }

    mutating func parse() throws(JSONPathError) -> (JSONPath.Root, [JSONPath.Segment]) {
        guard chars.first == "$" else { throw fail("a path starts with '$' (the input) or '$$' (the context object)") }
        index = 1
        var root = JSONPath.Root.input
        if index < chars.count, chars[index] == "$" {
            root = .context
            index += 1
        }
        let segments = try parseSegments(stopAt: nil)
        return (root, segments)
    }

    mutating func parseSegments(stopAt terminators: Set<Character>?) throws(JSONPathError) -> [JSONPath.Segment] {
        var segments: [JSONPath.Segment] = []
        while index < chars.count {
            if let terminators, terminators.contains(chars[index]) || chars[index] == " " { break }
            switch chars[index] {
            case ".":
                index += 1
                if index < chars.count, chars[index] == "." {
                    index += 1
                    if index < chars.count, chars[index] == "[" {
                        segments.append(.descendants(try parseBracket()))
                    } else {
                        segments.append(.descendants(try parseDotName()))
                    }
                } else {
                    segments.append(try parseDotName())
                }
            case "[":
                segments.append(try parseBracket())
            default:
                throw fail("unexpected '\(chars[index])' at position \(index + 1); use .name or ['name']")
            }
        }
        return segments
    }

    mutating func parseDotName() throws(JSONPathError) -> JSONPath.Segment {
        if index < chars.count, chars[index] == "*" {
            index += 1
            return .wildcard
        }
        let start = index
        while index < chars.count, !".[]() =!<>&|".contains(chars[index]) { index += 1 }
        guard index > start else { throw fail("expected a name after '.' at position \(start + 1)") }
        return .name(String(chars[start..<index]))
    }

    mutating func parseBracket() throws(JSONPathError) -> JSONPath.Segment {
        index += 1  // [
        skipSpaces()
        guard index < chars.count else { throw fail("unclosed '['") }
        let segment: JSONPath.Segment
        switch chars[index] {
        case "'", "\"":
            var names = [try parseQuoted()]
            skipSpaces()
            while index < chars.count, chars[index] == "," {
                index += 1
                skipSpaces()
                names.append(try parseQuoted())
                skipSpaces()
            }
            segment = names.count == 1 ? .name(names[0]) : .names(names)
        case "*":
            index += 1
            segment = .wildcard
        case "?":
            segment = .filter(try parseFilter())
        default:
            segment = try parseIndexOrSlice()
        }
        skipSpaces()
        guard index < chars.count, chars[index] == "]" else { throw fail("expected ']' at position \(index + 1)") }
        index += 1
        return segment
    }

    mutating func skipSpaces() {
        while index < chars.count, chars[index] == " " { index += 1 }
    }

    mutating func parseQuoted() throws(JSONPathError) -> String {
        guard index < chars.count, chars[index] == "'" || chars[index] == "\"" else { throw fail("expected a quoted name at position \(index + 1)") }
        let quote = chars[index]
        index += 1
        var value = ""
        while index < chars.count, chars[index] != quote {
            if chars[index] == "\\", index + 1 < chars.count { index += 1 }
            value.append(chars[index])
            index += 1
        }
        guard index < chars.count else { throw fail("unterminated quoted name") }
        index += 1
        return value
    }

    mutating func parseInteger() -> Int? {
        let start = index
        if index < chars.count, chars[index] == "-" { index += 1 }
        while index < chars.count, chars[index].isASCII, chars[index].isNumber { index += 1 }
        guard index > start else { return nil }
        return Int(String(chars[start..<index]))
    }

    mutating func parseIndexOrSlice() throws(JSONPathError) -> JSONPath.Segment {
        let first = parseInteger()
        skipSpaces()
        if index < chars.count, chars[index] == ":" {
            index += 1
            let end = parseInteger()
            var step: Int?
            if index < chars.count, chars[index] == ":" {
                index += 1
                step = parseInteger()
            }
            return .slice(start: first, end: end, step: step)
        }
        guard let first else { throw fail("expected an index, a quoted name, '*', a slice or a filter at position \(index + 1)") }
        var indices = [first]
        while index < chars.count, chars[index] == "," {
            index += 1
            skipSpaces()
            guard let next = parseInteger() else { throw fail("expected an index after ',' at position \(index + 1)") }
            indices.append(next)
            skipSpaces()
        }
        return indices.count == 1 ? .index(first) : .indices(indices)
    }

    mutating func parseFilter() throws(JSONPathError) -> JSONPath.Filter {
        index += 1  // ?
        guard index < chars.count, chars[index] == "(" else { throw fail("a filter looks like [?(@.field > 1)]") }
        index += 1
        var anyOf: [[JSONPath.Filter.Test]] = [[]]
        while true {
            anyOf[anyOf.count - 1].append(try parseFilterTest())
            skipSpaces()
            if lookingAt("&&") {
                index += 2
            } else if lookingAt("||") {
                index += 2
                anyOf.append([])
            } else {
                break
            }
        }
        guard index < chars.count, chars[index] == ")" else { throw fail("expected ')' to close the filter") }
        index += 1
        return JSONPath.Filter(anyOf: anyOf)
    }

    func lookingAt(_ text: String) -> Bool {
        let needle = Array(text)
        return index + needle.count <= chars.count && Array(chars[index..<index + needle.count]) == needle
    }

    mutating func parseFilterTest() throws(JSONPathError) -> JSONPath.Filter.Test {
        skipSpaces()
        guard index < chars.count, chars[index] == "@" else { throw fail("a filter tests the current item '@', as in [?(@.field > 1)]") }
        index += 1
        let path = try parseSegments(stopAt: [")", "=", "!", "<", ">", "&", "|"])
        skipSpaces()
        var op: String?
        var literal: JSONValue?
        if index < chars.count, chars[index] != ")", !lookingAt("&&"), !lookingAt("||") {
            var symbol = String(chars[index])
            index += 1
            if index < chars.count, chars[index] == "=" {
                symbol.append("=")
                index += 1
            }
            guard ["==", "!=", "<", "<=", ">", ">="].contains(symbol) else { throw fail("unknown filter operator '\(symbol)'") }
            op = symbol
            skipSpaces()
            let start = index
            if index < chars.count, chars[index] == "'" || chars[index] == "\"" {
                literal = .string(try parseQuoted())
            } else {
                while index < chars.count, chars[index] != ")", chars[index] != " ", !lookingAt("&&"), !lookingAt("||") { index += 1 }
                let raw = String(chars[start..<index]).trimmingSpaces
                guard let parsed = try? JSONValue(parsing: raw) else { throw fail("filter value '\(raw)' is not a number, string, boolean or null") }
                literal = parsed
            }
            skipSpaces()
        }
        return JSONPath.Filter.Test(path: path, op: op, literal: literal)
    }
}

extension String {
    var trimmingSpaces: String {
        String(drop(while: { $0 == " " }).reversed().drop(while: { $0 == " " }).reversed())
    }
}
