import Foundation
import JSON

/// Checks a definition against the States Language specification and collects every
/// problem with the JSON pointer of its field.
struct DefinitionValidator {
    var problems: [DefinitionProblem] = []

    mutating func report(_ pointer: String, _ message: String) {
        problems.append(DefinitionProblem(pointer: pointer, message: message))
    }

    /// Escapes a key for a JSON pointer (RFC 6901).
    static func token(_ key: String) -> String {
        key.replacingOccurrences(of: "~", with: "~0").replacingOccurrences(of: "/", with: "~1")
    }

    mutating func machine(_ value: JSONValue, at pointer: String, topLevel: Bool) -> StateMachine? {
        guard case .object(let fields) = value else {
            report(pointer, "a state machine is a JSON object with StartAt and States")
            return nil
        }
        var allowed: Set<String> = ["StartAt", "States", "Comment", "Version", "TimeoutSeconds", "QueryLanguage"]
        if !topLevel { allowed.formUnion(["ProcessorConfig"]) }
        unknownFields(fields, allowed: allowed, at: pointer, what: "a state machine")
        if let language = fields["QueryLanguage"], language != "JSONPath" {
            report(pointer + "/QueryLanguage", "only JSONPath is supported for now, not \(language)")
        }
        let startAt = fields["StartAt"]?.stringValue
        if startAt == nil { report(pointer + "/StartAt", "required: the name of the first state") }
        var timeout: Int?
        if let t = fields["TimeoutSeconds"] { timeout = positiveInteger(t, at: pointer + "/TimeoutSeconds") }
        guard case .object(let stateFields)? = fields["States"], !stateFields.isEmpty else {
            report(pointer + "/States", "required: an object of one or more states")
            return nil
        }
        var states: [String: StateMachine.State] = [:]
        for name in stateFields.keys.sorted() {
            if name.count > 80 { report(pointer + "/States/" + Self.token(name), "a state name has at most 80 characters") }
            if let state = self.state(name, stateFields[name]!, at: pointer + "/States/" + Self.token(name)) { states[name] = state }
        }
        if let startAt, stateFields[startAt] == nil {
            report(pointer + "/StartAt", "no state named '\(startAt)'; states: \(stateFields.keys.sorted().joined(separator: ", "))")
        }
        checkTransitions(states, names: Set(stateFields.keys), startAt: startAt, at: pointer)
        return StateMachine(startAt: startAt ?? "", states: states, timeoutSeconds: timeout, comment: fields["Comment"]?.stringValue)
    }

    mutating func unknownFields(_ fields: [String: JSONValue], allowed: Set<String>, at pointer: String, what: String) {
        for key in fields.keys.sorted() where !allowed.contains(key) {
            let close = allowed.min { Self.distance(key, $0) < Self.distance(key, $1) }
            let hint = close.flatMap { Self.distance(key, $0) <= 3 ? "; did you mean '\($0)'?" : nil } ?? ""
            report(pointer + "/" + Self.token(key), "unknown field for \(what)\(hint)")
        }
    }

    static func distance(_ a: String, _ b: String) -> Int {
        let a = Array(a.lowercased()), b = Array(b.lowercased())
        if a.isEmpty || b.isEmpty { return max(a.count, b.count) }
        var previous = Array(0...b.count)
        for i in 1...a.count {
            var current = [i] + Array(repeating: 0, count: b.count)
            for j in 1...b.count {
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            }
            previous = current
        }
        return previous[b.count]
    }

    mutating func state(_ name: String, _ value: JSONValue, at pointer: String) -> StateMachine.State? {
        guard case .object(let fields) = value else {
            report(pointer, "a state is a JSON object with a Type")
            return nil
        }
        guard let typeName = fields["Type"]?.stringValue, let type = StateType(rawValue: typeName) else {
            report(pointer + "/Type", "required: one of \(StateType.allCases.map(\.rawValue).joined(separator: ", "))"
                   + (fields["Type"].map { ", not \($0)" } ?? ""))
            return nil
        }
        unknownFields(fields, allowed: type.fields.union(["Type", "Comment"]), at: pointer, what: "a \(typeName) state")

        if !type.choosesItsOwnEnd {
            let next = fields["Next"], end = fields["End"]
            if next == nil && end != .bool(true) { report(pointer, "a \(typeName) state needs Next or \"End\": true") }
            if next != nil && end == .bool(true) { report(pointer, "a state has Next or \"End\": true, not both") }
            if let next, next.stringValue == nil { report(pointer + "/Next", "must be a state name") }
            if let end, end.kindName != "boolean" { report(pointer + "/End", "must be true") }
        }
        for field in ["InputPath", "OutputPath"] where fields[field] != nil {
            path(fields[field]!, at: pointer + "/" + field, reference: false, nullable: true)
        }
        if let resultPath = fields["ResultPath"] { path(resultPath, at: pointer + "/ResultPath", reference: true, nullable: true) }
        for field in ["Parameters", "ResultSelector", "ItemSelector"] where fields[field] != nil {
            template(fields[field]!, at: pointer + "/" + field)
        }
        for field in ["Retry", "Catch"] where fields[field] != nil {
            errorHandlers(fields[field]!, catch: field == "Catch", at: pointer + "/" + field)
        }
        for field in ["TimeoutSeconds", "HeartbeatSeconds", "Seconds", "MaxConcurrency", "ToleratedFailureCount"] where fields[field] != nil {
            if field == "Seconds" || field == "MaxConcurrency" || field == "ToleratedFailureCount" {
                nonNegativeInteger(fields[field]!, at: pointer + "/" + field)
            } else {
                _ = positiveInteger(fields[field]!, at: pointer + "/" + field)
            }
        }
        for field in fields.keys where field.hasSuffix("Path") && !["InputPath", "OutputPath", "ResultPath"].contains(field) {
            if ["ErrorPath", "CausePath"].contains(field), let text = fields[field]?.stringValue, Intrinsic.looksLikeCall(text) {
                do { _ = try Intrinsic(text) } catch { report(pointer + "/" + field, error.message) }  // AWS allows intrinsics here
                continue
            }
            path(fields[field]!, at: pointer + "/" + field, reference: true, nullable: false)
        }

        var machines: [StateMachine] = []
        switch type {
        case .task:
            if fields["Resource"]?.stringValue == nil { report(pointer + "/Resource", "required: the URI of the task's resource") }
            if fields["TimeoutSeconds"] != nil && fields["TimeoutSecondsPath"] != nil {
                report(pointer, "give TimeoutSeconds or TimeoutSecondsPath, not both")
            }
            if fields["HeartbeatSeconds"] != nil && fields["HeartbeatSecondsPath"] != nil {
                report(pointer, "give HeartbeatSeconds or HeartbeatSecondsPath, not both")
            }
            if let timeout = fields["TimeoutSeconds"]?.intValue, let heartbeat = fields["HeartbeatSeconds"]?.intValue, heartbeat >= timeout {
                report(pointer + "/HeartbeatSeconds", "must be smaller than TimeoutSeconds (\(timeout))")
            }
        case .choice:
            choices(fields, at: pointer)
        case .wait:
            let given = ["Seconds", "Timestamp", "SecondsPath", "TimestampPath"].filter { fields[$0] != nil }
            if given.count != 1 { report(pointer, "a Wait state has exactly one of Seconds, Timestamp, SecondsPath, TimestampPath") }
            if let timestamp = fields["Timestamp"], timestamp.stringValue.flatMap(Timestamps.parse) == nil {
                report(pointer + "/Timestamp", "must be an RFC 3339 timestamp such as 2026-03-14T01:59:00Z")
            }
        case .fail:
            if fields["Error"] != nil && fields["ErrorPath"] != nil { report(pointer, "give Error or ErrorPath, not both") }
            if fields["Cause"] != nil && fields["CausePath"] != nil { report(pointer, "give Cause or CausePath, not both") }
            for field in ["Error", "Cause"] where fields[field] != nil && fields[field]?.stringValue == nil {
                report(pointer + "/" + field, "must be a string")
            }
        case .parallel:
            guard case .array(let branches)? = fields["Branches"], !branches.isEmpty else {
                report(pointer + "/Branches", "required: an array of one or more state machines")
                break
            }
            for (index, branch) in branches.enumerated() {
                if let machine = machine(branch, at: pointer + "/Branches/\(index)", topLevel: false) { machines.append(machine) }
            }
        case .map:
            let processor = fields["ItemProcessor"] ?? fields["Iterator"]
            if fields["ItemProcessor"] != nil && fields["Iterator"] != nil { report(pointer, "give ItemProcessor or Iterator, not both") }
            if fields["ItemSelector"] != nil && fields["Parameters"] != nil { report(pointer, "give ItemSelector or Parameters, not both") }
            if let processor {
                let field = fields["ItemProcessor"] != nil ? "ItemProcessor" : "Iterator"
                if let machine = machine(processor, at: pointer + "/" + field, topLevel: false) { machines.append(machine) }
            } else {
                report(pointer + "/ItemProcessor", "required: the state machine run for each item")
            }
            for field in ["ItemReader", "ResultWriter", "ItemBatcher"] where fields[field] != nil {
                report(pointer + "/" + field, "not supported yet by this engine (distributed Map); pass the items in the input instead")
            }
            if let percentage = fields["ToleratedFailurePercentage"], !(percentage.doubleValue.map { (0...100).contains($0) } ?? false) {
                report(pointer + "/ToleratedFailurePercentage", "must be a number from 0 to 100")
            }
        case .pass, .succeed:
            break
        }
        return StateMachine.State(name: name, type: type, fields: fields, machines: machines)
    }

    /// Next, Default and Catch targets must exist; every state must be reachable from StartAt.
    mutating func checkTransitions(_ states: [String: StateMachine.State], names: Set<String>, startAt: String?, at pointer: String) {
        var edges: [String: [String]] = [:]
        for (name, state) in states {
            let base = pointer + "/States/" + Self.token(name)
            var targets: [(String, String)] = []
            if let next = state.fields["Next"]?.stringValue { targets.append((next, base + "/Next")) }
            if let target = state.fields["Default"]?.stringValue { targets.append((target, base + "/Default")) }
            for (i, choice) in (state.fields["Choices"]?.arrayValue ?? []).enumerated() {
                if let next = choice["Next"]?.stringValue { targets.append((next, base + "/Choices/\(i)/Next")) }
            }
            for (i, handler) in (state.fields["Catch"]?.arrayValue ?? []).enumerated() {
                if let next = handler["Next"]?.stringValue { targets.append((next, base + "/Catch/\(i)/Next")) }
            }
            for (target, where_) in targets where !names.contains(target) {
                report(where_, "no state named '\(target)' in this machine")
            }
            edges[name] = targets.map(\.0)
        }
        guard let startAt, names.contains(startAt) else { return }
        var reached: Set<String> = [startAt]
        var frontier = [startAt]
        while let name = frontier.popLast() {
            for target in edges[name] ?? [] where reached.insert(target).inserted { frontier.append(target) }
        }
        for name in names.subtracting(reached).sorted() {
            report(pointer + "/States/" + Self.token(name), "state '\(name)' is unreachable from '\(startAt)'")
        }
        if !states.values.contains(where: { $0.type == .succeed || $0.type == .fail || $0.fields["End"] == .bool(true) }) {
            report(pointer + "/States", "no terminal state: a machine needs a Succeed or Fail state, or a state with \"End\": true")
        }
    }

    mutating func path(_ value: JSONValue, at pointer: String, reference: Bool, nullable: Bool) {
        if value == .null {
            if !nullable { report(pointer, "must be a path, not null") }
            return
        }
        guard case .string(let text) = value else {
            report(pointer, "must be a JSONPath string such as \"$.field\"")
            return
        }
        do {
            let path = try JSONPath(text)
            if reference && !path.isReference {
                report(pointer, "'\(text)' must be a reference path: names and indices only, no *, .., slices or filters")
            }
        } catch {
            report(pointer, error.description)
        }
    }

    /// A payload template (Parameters, ResultSelector, ItemSelector): `.$` keys hold paths or intrinsic calls.
    mutating func template(_ value: JSONValue, at pointer: String) {
        switch value {
        case .object(let members):
            for key in members.keys.sorted() {
                let child = pointer + "/" + Self.token(key)
                if key.hasSuffix(".$") {
                    guard case .string(let text) = members[key]! else {
                        report(child, "a field ending in .$ holds a path or an intrinsic call, as a string")
                        continue
                    }
                    if Intrinsic.looksLikeCall(text) {
                        do { _ = try Intrinsic(text) } catch { report(child, error.message) }
                    } else {
                        do { _ = try JSONPath(text) } catch { report(child, error.description) }
                    }
                } else {
                    template(members[key]!, at: child)
                }
            }
        case .array(let elements):
            for (index, element) in elements.enumerated() { template(element, at: pointer + "/\(index)") }
        default:
            break
        }
    }

    mutating func errorHandlers(_ value: JSONValue, catch isCatch: Bool, at pointer: String) {
        guard case .array(let handlers) = value else {
            report(pointer, "must be an array of \(isCatch ? "catchers" : "retriers")")
            return
        }
        for (index, handler) in handlers.enumerated() {
            let here = pointer + "/\(index)"
            guard case .object(let fields) = handler else {
                report(here, "must be an object with ErrorEquals")
                continue
            }
            let allowed: Set<String> = isCatch
                ? ["ErrorEquals", "Next", "ResultPath", "Comment"]
                : ["ErrorEquals", "IntervalSeconds", "MaxAttempts", "BackoffRate", "MaxDelaySeconds", "JitterStrategy", "Comment"]
            unknownFields(fields, allowed: allowed, at: here, what: isCatch ? "a catcher" : "a retrier")
            if let names = fields["ErrorEquals"]?.arrayValue, !names.isEmpty, names.allSatisfy({ $0.stringValue != nil }) {
                if names.contains("States.ALL") {
                    if names.count > 1 { report(here + "/ErrorEquals", "States.ALL must be the only error name in its list") }
                    if index != handlers.count - 1 { report(here + "/ErrorEquals", "States.ALL must be in the last \(isCatch ? "catcher" : "retrier")") }
                }
            } else {
                report(here + "/ErrorEquals", "required: a non-empty array of error names")
            }
            if isCatch {
                if fields["Next"]?.stringValue == nil { report(here + "/Next", "required: the state to go to") }
                if let resultPath = fields["ResultPath"] { path(resultPath, at: here + "/ResultPath", reference: true, nullable: true) }
                continue
            }
            if let v = fields["IntervalSeconds"] { _ = positiveInteger(v, at: here + "/IntervalSeconds") }
            if let v = fields["MaxDelaySeconds"] { _ = positiveInteger(v, at: here + "/MaxDelaySeconds") }
            if let v = fields["MaxAttempts"] { nonNegativeInteger(v, at: here + "/MaxAttempts") }
            if let v = fields["BackoffRate"], !(v.doubleValue.map { $0 >= 1 } ?? false) {
                report(here + "/BackoffRate", "must be a number of at least 1.0, not \(v)")
            }
            if let v = fields["JitterStrategy"], v != "FULL", v != "NONE" {
                report(here + "/JitterStrategy", "must be FULL or NONE, not \(v)")
            }
        }
    }

    @discardableResult
    mutating func positiveInteger(_ value: JSONValue, at pointer: String) -> Int? {
        guard case .int(let n) = value, n > 0 else {
            report(pointer, "must be a positive integer, not \(value)")
            return nil
        }
        return Int(n)
    }

    mutating func nonNegativeInteger(_ value: JSONValue, at pointer: String) {
        guard case .int(let n) = value, n >= 0 else { return report(pointer, "must be a non-negative integer, not \(value)") }
    }
}
