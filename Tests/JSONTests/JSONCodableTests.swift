import Testing
@testable import JSON

@Suite struct JSONCodableTests {
    struct Limits: Codable, Equatable {
        enum Mode: String, Codable { case fast, safe }
        var cpus: Double
        var memory: Int64
        var mode: Mode
        var note: String?
        var tags: [String]
        var extra: JSONValue
    }

    struct Plan: Codable, Equatable {
        var name: String
        var stages: [String: Limits]
        var order: [Limits]
    }

    let limits = Limits(cpus: 2, memory: 1 << 30, mode: .safe, note: nil, tags: ["a"], extra: ["k": [1, 2.5]])

    @Test func encodesWholeDoublesAsDoublesAndNilAsNull() throws {
        let json = try JSONValue(encoding: limits)
        #expect(json == ["cpus": .double(2), "memory": .int(1 << 30), "mode": "safe", "note": nil, "tags": ["a"], "extra": ["k": [1, 2.5]]])
        #expect(json.serialized() == #"{"cpus":2.0,"extra":{"k":[1,2.5]},"memory":1073741824,"mode":"safe","note":null,"tags":["a"]}"#)
    }

    @Test func aValueRoundTripsThroughJSONValueAndItsText() throws {
        let plan = Plan(name: "p", stages: ["train": limits], order: [limits, limits])
        let json = try JSONValue(encoding: plan)
        #expect(try json.decode(Plan.self) == plan)
        #expect(try JSONValue(parsing: json.serialized()).decode(Plan.self) == plan)
    }

    @Test func aMissingFieldIsNamedByItsPath() throws {
        var json = try JSONValue(encoding: Plan(name: "p", stages: ["train": limits], order: [limits]))
        if case .object(var plan) = json, case .object(var stages)? = plan["stages"], case .object(var train)? = stages["train"] {
            train["memory"] = nil
            stages["train"] = .object(train)
            plan["stages"] = .object(stages)
            json = .object(plan)
        }
        #expect(throws: JSONDecodingError(path: "stages.train.memory", problem: "is missing")) { try json.decode(Plan.self) }
    }

    @Test func aValueOfTheWrongKindIsNamedWithWhatWasFound() throws {
        var order = try JSONValue(encoding: limits)
        if case .object(var members) = order {
            members["cpus"] = "two"
            order = .object(members)
        }
        let json: JSONValue = ["name": "p", "stages": [:], "order": [try JSONValue(encoding: limits), order]]
        #expect(throws: JSONDecodingError(path: "order[1].cpus", problem: "should be a number, not a string")) { try json.decode(Plan.self) }
        let error = try #require(throws: JSONDecodingError.self) { try (["name": 3] as JSONValue).decode(Plan.self) }
        #expect(error.description == "'name' should be a string, not a number")
    }

    @Test func anIntegerOutOfRangeOrAnUnknownCaseIsRefused() throws {
        #expect(throws: JSONDecodingError.self) { try JSONValue.int(300).decode(UInt8.self) }
        #expect(try JSONValue.int(200).decode(UInt8.self) == 200)
        let error = try #require(throws: JSONDecodingError.self) { try JSONValue.string("slow").decode(Limits.Mode.self) }
        #expect(error.problem.contains("slow"))
    }

    @Test func arraysAndNilOptionalsInDictionariesEncode() throws {
        #expect(try JSONValue(encoding: [1.5, 2]) == [1.5, 2.0])
        #expect(try JSONValue(encoding: ["a": Optional<Int>.none]) == ["a": nil])
    }
}
