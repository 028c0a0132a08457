import JSON

/// The comparison operators of Choice rules and the kind of value each compares.
enum ChoiceOperators {
    enum Operand { case string, number, boolean, timestamp, pattern, test }

    static let all: [String: Operand] = {
        var table: [String: Operand] = [
            "StringMatches": .pattern, "IsNull": .test, "IsPresent": .test, "IsNumeric": .test, "IsString": .test,
            "IsBoolean": .test, "IsTimestamp": .test,
        ]
        for suffix in ["Equals", "LessThan", "GreaterThan", "LessThanEquals", "GreaterThanEquals"] {
            table["String" + suffix] = .string
            table["Numeric" + suffix] = .number
            table["Timestamp" + suffix] = .timestamp
        }
        table["BooleanEquals"] = .boolean
        return table
    }()

    /// The operator names with their `...Path` forms (which compare with another node).
    static let names: Set<String> = {
        var names = Set(all.keys)
        for (name, operand) in all where operand != .test && operand != .pattern { names.insert(name + "Path") }
        return names
    }()
}

extension DefinitionValidator {
    mutating func choices(_ fields: [String: JSONValue], at pointer: String) {
        guard case .array(let rules)? = fields["Choices"], !rules.isEmpty else {
            report(pointer + "/Choices", "required: a non-empty array of choice rules")
            return
        }
        for (index, rule) in rules.enumerated() {
            choiceRule(rule, at: pointer + "/Choices/\(index)", topLevel: true)
        }
        if let target = fields["Default"], target.stringValue == nil { report(pointer + "/Default", "must be a state name") }
    }

    mutating func choiceRule(_ value: JSONValue, at pointer: String, topLevel: Bool) {
        guard case .object(let fields) = value else { return report(pointer, "a choice rule is an object") }
        if topLevel {
            if fields["Next"]?.stringValue == nil { report(pointer + "/Next", "required in a top-level choice rule: the state to go to") }
        } else if fields["Next"] != nil {
            report(pointer + "/Next", "only top-level choice rules have Next")
        }
        let combinators = ["And", "Or", "Not"].filter { fields[$0] != nil }
        let operators = fields.keys.filter { ChoiceOperators.names.contains($0) }.sorted()
        let allowed = Set(["Next", "Comment", "Variable"] + combinators + operators)
        for key in fields.keys.sorted() where !allowed.contains(key) {
            let close = ChoiceOperators.names.union(["And", "Or", "Not", "Variable", "Next"]).min { Self.distance(key, $0) < Self.distance(key, $1) }
            let hint = close.flatMap { Self.distance(key, $0) <= 3 ? "; did you mean '\($0)'?" : nil } ?? ""
            report(pointer + "/" + Self.token(key), "unknown field in a choice rule\(hint)")
        }
        if combinators.count + operators.count != 1 {
            return report(pointer, "a choice rule has exactly one comparison (such as StringEquals) or one of And, Or, Not; found \(combinators.count + operators.count)")
        }
        if let combinator = combinators.first {
            if fields["Variable"] != nil { report(pointer + "/Variable", "And, Or and Not rules take no Variable") }
            if combinator == "Not" {
                choiceRule(fields["Not"]!, at: pointer + "/Not", topLevel: false)
            } else if case .array(let inner) = fields[combinator]!, !inner.isEmpty {
                for (i, rule) in inner.enumerated() { choiceRule(rule, at: pointer + "/\(combinator)/\(i)", topLevel: false) }
            } else {
                report(pointer + "/" + combinator, "must be a non-empty array of choice rules")
            }
            return
        }
        let name = operators[0]
        guard let variable = fields["Variable"] else { return report(pointer + "/Variable", "required: the path of the value to compare") }
        path(variable, at: pointer + "/Variable", reference: false, nullable: false)
        let operand = fields[name]!
        if name.hasSuffix("Path") {
            return path(operand, at: pointer + "/" + name, reference: false, nullable: false)
        }
        switch ChoiceOperators.all[name]! {
        case .string, .pattern:
            if operand.stringValue == nil { report(pointer + "/" + name, "must be a string") }
        case .number:
            if operand.doubleValue == nil { report(pointer + "/" + name, "must be a number") }
        case .boolean, .test:
            if case .bool = operand {} else { report(pointer + "/" + name, "must be true or false") }
        case .timestamp:
            if operand.stringValue.flatMap(Timestamps.parse) == nil { report(pointer + "/" + name, "must be an RFC 3339 timestamp") }
        }
    }
}
