import Foundation
import Testing
@testable import Registry

@Suite struct RegistryItemTests {
    let folder = TemporaryFolder()

    @Test func putThenGetReturnsTheItemAtVersionOne() throws {
        let registry = try folder.registry()
        let stored = try registry.put("models", ItemKey("demand"), ["owner": "pricing", "gates": ["mse": 1.5]])
        #expect(stored.version == 1)
        #expect(try registry.get("models", ItemKey("demand")) == stored)
        #expect(try registry.get("models", ItemKey("elasticity")) == nil)
        #expect(try registry.get("no-such-table", ItemKey("x")) == nil)
    }

    @Test func everyWriteIncreasesTheVersionByOne() throws {
        let registry = try folder.registry()
        for expected in 1...5 {
            #expect(try registry.put("t", ItemKey("k"), ["n": .int(Int64(expected))]).version == expected)
        }
        #expect(try registry.update("t", ItemKey("k"), [.add("n", 1)]).version == 6)
        #expect(try registry.get("t", ItemKey("k"))?.attributes["n"] == 6)
    }

    @Test(arguments: [
        "../x", "a/b", "with spaces", "🚀 emoji", ".", "..", ".hidden", "%41", "~hash", "nul\u{0}byte",
        "é", "e\u{301}", String(repeating: "k", count: 1024), String(repeating: "é/", count: 512),
    ])
    func anyUTF8KeyRoundTripsAndStaysInsideTheTable(key: String) throws {
        let registry = try folder.registry()
        try registry.put("plain", ItemKey(key), ["key": .string(key)])
        try registry.put("sorted", ItemKey(key, key), ["key": .string(key)])
        #expect(try registry.get("plain", ItemKey(key))?.attributes["key"] == .string(key))
        #expect(try registry.get("sorted", ItemKey(key, key))?.key == ItemKey(key, key))
        #expect(try registry.scan("plain").items.map(\.key) == [ItemKey(key)])
        #expect(try registry.query("sorted", partition: key).items.map(\.key) == [ItemKey(key, key)])
        for file in folder.files() {
            #expect(file.hasPrefix("registry/"))
            #expect(file.split(separator: "/").allSatisfy { $0 != ".." && $0.utf8.count < 256 })
        }
    }

    @Test func canonicallyEquivalentKeysStayDistinct() throws {
        let registry = try folder.registry()
        try registry.put("t", ItemKey("é"), ["form": "composed"])
        try registry.put("t", ItemKey("e\u{301}"), ["form": "decomposed"])
        #expect(try registry.scan("t").items.count == 2)
        #expect(try registry.get("t", ItemKey("é"))?.attributes["form"] == "composed")
    }

    @Test func itemFilesArePlainJSONWithAFormatVersion() throws {
        let registry = try folder.registry()
        try registry.put("builds", ItemKey("demand", "b-0001"), ["status": "succeeded"])
        let text = try String(contentsOfFile: folder.path + "/registry/tables/builds/demand/b-0001.json", encoding: .utf8)
        #expect(text.contains("\"format\": 1"))
        #expect(text.contains("\"status\": \"succeeded\""))
        #expect(try String(contentsOfFile: folder.path + "/registry/format.json", encoding: .utf8).contains("\"format\": 1"))
    }

    @Test func putIfAbsentRefusesAnExistingItemAndNamesItsVersion() throws {
        let registry = try folder.registry()
        try registry.put("t", ItemKey("k"), ["a": 1], condition: .absent)
        try registry.put("t", ItemKey("k"), ["a": 2])
        #expect(throws: RegistryError.conditionFailed(table: "t", key: ItemKey("k"), condition: .absent, current: 2)) {
            try registry.put("t", ItemKey("k"), ["a": 3], condition: .absent)
        }
        #expect(try registry.get("t", ItemKey("k"))?.attributes == ["a": 2])
    }

    @Test func putIfVersionWritesOnlyAtThatVersion() throws {
        let registry = try folder.registry()
        try registry.put("t", ItemKey("k"), ["a": 1])
        #expect(try registry.put("t", ItemKey("k"), ["a": 2], condition: .version(1)).version == 2)
        let error = #expect(throws: RegistryError.self) { try registry.put("t", ItemKey("k"), ["a": 3], condition: .version(1)) }
        #expect(error == .conditionFailed(table: "t", key: ItemKey("k"), condition: .version(1), current: 2))
        #expect(error?.description.contains("'k' in table 't' is at version 2") == true)
        #expect(throws: RegistryError.conditionFailed(table: "t", key: ItemKey("new"), condition: .version(1), current: nil)) {
            try registry.put("t", ItemKey("new"), ["a": 1], condition: .version(1))
        }
    }

    @Test func updateSetsRemovesAndAddsInOneWrite() throws {
        let registry = try folder.registry()
        try registry.put("t", ItemKey("k"), ["keep": "x", "drop": true, "count": 2, "ratio": 0.5])
        let item = try registry.update("t", ItemKey("k"), [
            .set("status", "deployed"), .remove("drop"), .add("count", 3), .add("ratio", 0.25), .add("fresh", -1),
        ])
        #expect(item.attributes == ["keep": "x", "status": "deployed", "count": 5, "ratio": 0.75, "fresh": -1])
        #expect(item.version == 2)
    }

    @Test func updateCreatesAMissingItemUnlessTheConditionSaysOtherwise() throws {
        let registry = try folder.registry()
        #expect(try registry.update("t", ItemKey("k"), [.add("n", 1)]).attributes == ["n": 1])
        #expect(throws: RegistryError.conditionFailed(table: "t", key: ItemKey("other"), condition: .exists, current: nil)) {
            try registry.update("t", ItemKey("other"), [.add("n", 1)], condition: .exists)
        }
        #expect(try registry.get("t", ItemKey("other")) == nil)
    }

    @Test func addingToANonNumberNamesTheAttributeAndChangesNothing() throws {
        let registry = try folder.registry()
        try registry.put("t", ItemKey("k"), ["name": "demand"])
        let error = #expect(throws: RegistryError.self) { try registry.update("t", ItemKey("k"), [.add("name", 1)]) }
        #expect(error?.description.contains("attribute 'name'") == true)
        #expect(try registry.get("t", ItemKey("k"))?.version == 1)
    }

    @Test func addingPastInt64OverflowsToADouble() throws {
        let registry = try folder.registry()
        try registry.put("t", ItemKey("k"), ["n": .int(Int64.max)])
        #expect(try registry.update("t", ItemKey("k"), [.add("n", 1)]).attributes["n"] == .double(Double(Int64.max) + 1))
    }

    @Test func deleteRemovesTheItemAndHonoursItsCondition() throws {
        let registry = try folder.registry()
        try registry.put("t", ItemKey("k"), ["a": 1])
        #expect(throws: RegistryError.conditionFailed(table: "t", key: ItemKey("k"), condition: .version(7), current: 1)) {
            try registry.delete("t", ItemKey("k"), condition: .version(7))
        }
        #expect(try registry.delete("t", ItemKey("k"), condition: .version(1))?.version == 1)
        #expect(try registry.get("t", ItemKey("k")) == nil)
        #expect(try registry.delete("t", ItemKey("k")) == nil)
        #expect(try registry.delete("never-created", ItemKey("k")) == nil)
    }

    @Test func aTablesKeySchemaIsFixedByItsFirstWrite() throws {
        let registry = try folder.registry()
        try registry.put("builds", ItemKey("demand", "b1"), [:])
        let error = #expect(throws: RegistryError.self) { try registry.put("builds", ItemKey("demand"), [:]) }
        #expect(error?.description.contains("the table has sort keys") == true)
        #expect(throws: RegistryError.self) { try registry.get("builds", ItemKey("demand")) }
        try registry.put("models", ItemKey("demand"), [:])
        #expect(throws: RegistryError.self) { try registry.put("models", ItemKey("demand", "x"), [:]) }
        // A second process (a fresh instance) reads the schema from disk.
        #expect(throws: RegistryError.self) { try folder.registry().put("builds", ItemKey("x"), [:]) }
    }

    @Test(arguments: ["", ".hidden", "a/b", "../up", "with space", String(repeating: "t", count: 201), "tâble"])
    func invalidTableNamesAreRefusedByName(name: String) throws {
        let registry = try folder.registry()
        let error = #expect(throws: RegistryError.self) { try registry.put(name, ItemKey("k"), [:]) }
        #expect(error?.description.contains("invalid table name '\(name)'") == true)
        if name == "tâble" { #expect(error?.description.contains("character 'â'") == true) }
    }

    @Test func emptyKeysAreRefused() throws {
        let registry = try folder.registry()
        #expect(throws: RegistryError.self) { try registry.put("t", ItemKey(""), [:]) }
        #expect(throws: RegistryError.self) { try registry.put("s", ItemKey("p", ""), [:]) }
    }

    @Test func tablesListsEveryTableSorted() throws {
        let registry = try folder.registry()
        try registry.put("models", ItemKey("a"), [:])
        try registry.put("builds", ItemKey("a", "1"), [:])
        try registry.put("Zeta", ItemKey("a"), [:])
        #expect(try registry.tables() == ["Zeta", "builds", "models"])
    }

    @Test func aRegistryOfANewerFormatIsRefusedWithAHint() throws {
        _ = try folder.registry()
        try Data(#"{"format": 2}"#.utf8).write(to: URL(fileURLWithPath: folder.path + "/registry/format.json"))
        let error = #expect(throws: RegistryError.self) { try folder.registry() }
        #expect(error?.description.contains("has format 2") == true)
        #expect(error?.description.contains("use a newer slipway") == true)
    }

    @Test func threadsIncrementingOneCounterLoseNoWrite() async throws {
        let root = folder.path + "/registry"
        _ = try folder.registry()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<4 {
                group.addTask {
                    let registry = try Registry(root: root)  // one instance per writer, as in separate processes
                    for _ in 0..<25 { try registry.update("counters", ItemKey("c"), [.add("n", 1)]) }
                }
            }
            try await group.waitForAll()
        }
        let counter = try folder.registry().get("counters", ItemKey("c"))
        #expect(counter?.attributes["n"] == 100)
        #expect(counter?.version == 100)
    }
}
