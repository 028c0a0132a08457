import JSON

/// Evaluates Choice rules against a state's effective input.
enum ChoiceEvaluator {
    static func matches(_ rule: JSONValue, input: JSONValue, context: JSONValue) throws(StatesError) -> Bool {
        guard case .object(let fields) = rule else { return false }
        if case .array(let rules)? = fields["And"] {
            for inner in rules where try !matches(inner, input: input, context: context) { return false }
            return true
        }
        if case .array(let rules)? = fields["Or"] {
            for inner in rules where try matches(inner, input: input, context: context) { return true }
            return false
        }
        if let inner = fields["Not"] { return try !matches(inner, input: input, context: context) }
        guard let variableText = fields["Variable"]?.stringValue,
            let name = fields.keys.first(where: { ChoiceOperators.names.contains($0) }), let operand = fields[name]
        else { return false }
        let variable = try resolve(variableText, input: input, context: context)
        switch name {
        case "IsPresent": return (variable != nil) == (operand == true)
        case "IsNull": return (variable == .null) == (operand == true)
        case "IsNumeric": return (variable?.doubleValue != nil) == (operand == true)
        case "IsString": return (variable?.stringValue != nil) == (operand == true)
        case "IsBoolean": return (variable?.kindName == "boolean") == (operand == true)
        case "IsTimestamp": return (variable?.stringValue.flatMap(Timestamps.parse) != nil) == (operand == true)
        default: break
        }
        guard let value = variable else {
            throw .runtime("Invalid path '\(variableText)': The choice state's condition path references an invalid value.")
        }
        var base = name
        var other = operand
        if name.hasSuffix("Path") {
            base = String(name.dropLast(4))
            guard let text = operand.stringValue, let resolved = try resolve(text, input: input, context: context) else {
                throw .runtime("Invalid path '\(operand.stringValue ?? "")' in \(name)")
            }
            other = resolved
        }
        if base == "StringMatches" {
            guard let text = value.stringValue, let pattern = other.stringValue else { return false }
            return wildcard(pattern, matches: text)
        }
        if base == "BooleanEquals" { return value.kindName == "boolean" && value == other }
        for (prefix, kind) in [("String", 0), ("Numeric", 1), ("Timestamp", 2)] where base.hasPrefix(prefix) {
            let comparison = String(base.dropFirst(prefix.count))
            let order: Int?
            switch kind {
            case 0:
                guard let a = value.stringValue, let b = other.stringValue else { return false }
                order = a.utf8.elementsEqual(b.utf8) ? 0 : (utf8Less(a, b) ? -1 : 1)
            case 1:
                guard let a = value.doubleValue, let b = other.doubleValue else { return false }
                order = a == b ? 0 : (a < b ? -1 : 1)
            default:
                guard let a = value.stringValue.flatMap(Timestamps.parse), let b = other.stringValue.flatMap(Timestamps.parse) else { return false }
                order = a == b ? 0 : (a < b ? -1 : 1)
            }
            guard let order else { return false }
            switch comparison {
            case "Equals": return order == 0
            case "LessThan": return order < 0
            case "GreaterThan": return order > 0
            case "LessThanEquals": return order <= 0
            case "GreaterThanEquals": return order >= 0
            default: return false
            }
        }
        return false
    }

    /// The node a Variable or `...Path` names, or nil when there is none.
    static func resolve(_ text: String, input: JSONValue, context: JSONValue) throws(StatesError) -> JSONValue? {
        let path: JSONPath
        do { path = try JSONPath(text) } catch { throw .runtime(error.description) }
        return path.evaluate(in: path.root == .context ? context : input)
    }

    /// `*` matches any run of characters; `\*` a literal star, `\\` a backslash.
    static func wildcard(_ pattern: String, matches text: String) -> Bool {
        var tokens: [(Character, Bool)] = []  // (char, isWildcard)
        var iterator = pattern.makeIterator()
        while let c = iterator.next() {
            if c == "\\", let escaped = iterator.next() { tokens.append((escaped, false)) } else { tokens.append((c, c == "*")) }
        }
        let chars = Array(text)
        var memo = [[Bool?]](repeating: [Bool?](repeating: nil, count: chars.count + 1), count: tokens.count + 1)
        func match(_ t: Int, _ s: Int) -> Bool {
            if let known = memo[t][s] { return known }
            let result: Bool
            if t == tokens.count { result = s == chars.count } else if tokens[t].1 {
                result = match(t + 1, s) || (s < chars.count && match(t, s + 1))
            } else {
                result = s < chars.count && chars[s] == tokens[t].0 && match(t + 1, s + 1)
            }
            memo[t][s] = result
            return result
        }
        return match(0, 0)
    }
}
