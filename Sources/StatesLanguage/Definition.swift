import JSON

/// One problem of a state machine definition: the JSON pointer of the offending field
/// (`/States/Train/Retry/0/BackoffRate`) and what is wrong.
package struct DefinitionProblem: Sendable, Equatable, CustomStringConvertible {
    package var pointer: String
    package var message: String
    package var description: String { "\(pointer.isEmpty ? "/" : pointer): \(message)" }
}

/// Every problem of a definition at once.
package struct InvalidDefinition: Error, Sendable, Equatable, CustomStringConvertible {
    package var problems: [DefinitionProblem]
    package var description: String {
        "invalid state machine definition (\(problems.count) problem\(problems.count == 1 ? "" : "s")):\n"
            + problems.map { "  " + $0.description }.joined(separator: "\n")
    }
}

/// The state types of the Amazon States Language.
package enum StateType: String, Sendable, CaseIterable {
    case pass = "Pass", task = "Task", choice = "Choice", wait = "Wait", succeed = "Succeed", fail = "Fail"
    case parallel = "Parallel", map = "Map"

    /// The fields a state of this type may have (beyond `Type` and `Comment`).
    var fields: Set<String> {
        let io: Set<String> = ["InputPath", "OutputPath"]
        let transition: Set<String> = ["Next", "End"]
        let errors: Set<String> = ["Retry", "Catch"]
        switch self {
        case .pass: return io.union(transition).union(["Parameters", "ResultPath", "Result"])
        case .task:
            return io.union(transition).union(errors).union([
                "Resource", "Parameters", "ResultSelector", "ResultPath", "TimeoutSeconds", "TimeoutSecondsPath",
                "HeartbeatSeconds", "HeartbeatSecondsPath", "Credentials",
            ])
        case .choice: return io.union(["Choices", "Default"])
        case .wait: return io.union(transition).union(["Seconds", "Timestamp", "SecondsPath", "TimestampPath"])
        case .succeed: return io
        case .fail: return ["Error", "Cause", "ErrorPath", "CausePath"]
        case .parallel: return io.union(transition).union(errors).union(["Branches", "Parameters", "ResultSelector", "ResultPath"])
        case .map:
            return io.union(transition).union(errors).union([
                "ItemProcessor", "Iterator", "ItemsPath", "ItemSelector", "Parameters", "MaxConcurrency", "MaxConcurrencyPath",
                "ToleratedFailureCount", "ToleratedFailureCountPath", "ToleratedFailurePercentage",
                "ToleratedFailurePercentagePath", "ResultSelector", "ResultPath", "ItemReader", "ResultWriter", "ItemBatcher", "Label",
            ])
        }
    }

    /// Whether the state ends its machine by itself (Succeed, Fail) or picks its own next
    /// state (Choice), and so has neither `Next` nor `End`.
    var choosesItsOwnEnd: Bool { self == .succeed || self == .fail || self == .choice }
}

/// A validated state machine: its start state and its states, each kept as the JSON the
/// definition gave (the engine reads the fields it needs), with nested machines for
/// Parallel branches and Map item processors.
package struct StateMachine: Sendable, Equatable {
    package struct State: Sendable, Equatable {
        package var name: String
        package var type: StateType
        /// The state's fields as written.
        package var fields: [String: JSONValue]
        /// Parallel branches, or a Map's item processor (one element).
        package var machines: [StateMachine]
    }

    package var startAt: String
    package var states: [String: State]
    package var timeoutSeconds: Int?
    package var comment: String?

    init(startAt: String, states: [String: State], timeoutSeconds: Int?, comment: String?) {
        self.startAt = startAt
        self.states = states
        self.timeoutSeconds = timeoutSeconds
        self.comment = comment
    }

    /// Parses and validates a definition's JSON text; throws every problem at once.
    package init(json text: String) throws(InvalidDefinition) {
        let value: JSONValue
        do {
            value = try JSONValue(parsing: text)
        } catch {
            throw InvalidDefinition(problems: [DefinitionProblem(pointer: "", message: "not JSON: \(error)")])
        }
        try self.init(definition: value)
    }

    /// Validates a parsed definition; throws every problem at once.
    package init(definition: JSONValue) throws(InvalidDefinition) {
        var validator = DefinitionValidator()
        let machine = validator.machine(definition, at: "", topLevel: true)
        guard validator.problems.isEmpty, let machine else { throw InvalidDefinition(problems: validator.problems) }
        self = machine
    }
}
