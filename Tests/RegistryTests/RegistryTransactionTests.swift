import Foundation
import Home
import Testing
@testable import Registry

@Suite struct RegistryTransactionTests {
    let folder = TemporaryFolder()

    @Test func aTransactionWritesEveryItemTogether() throws {
        let registry = try folder.registry()
        try registry.put("models", ItemKey("demand"), ["latest": "b-1"])
        try registry.put("locks", ItemKey("demand"), [:])
        let results = try registry.transact([
            .put(table: "builds", key: ItemKey("demand", "b-2"), attributes: ["status": "succeeded"], condition: .absent),
            .update(table: "models", key: ItemKey("demand"), changes: [.set("latest", "b-2")], condition: .version(1)),
            .delete(table: "locks", key: ItemKey("demand"), condition: .exists),
            .check(table: "models", key: ItemKey("price"), condition: .absent),
        ])
        #expect(results.map { $0?.version } == [1, 2, nil, nil])
        #expect(try registry.get("models", ItemKey("demand"))?.attributes["latest"] == "b-2")
        #expect(try registry.get("builds", ItemKey("demand", "b-2"))?.attributes["status"] == "succeeded")
        #expect(try registry.get("locks", ItemKey("demand")) == nil)
        #expect(folder.files().filter { $0.contains("/.tmp-") || $0.hasPrefix("registry/transactions/") }.isEmpty)
    }

    @Test func aFailedConditionChangesNothingAndNamesTheItem() throws {
        let registry = try folder.registry()
        try registry.put("models", ItemKey("demand"), ["latest": "b-1"])
        try registry.put("models", ItemKey("demand"), ["latest": "b-1b"])
        let before = folder.files()
        #expect(throws: RegistryError.conditionFailed(table: "models", key: ItemKey("demand"), condition: .version(1), current: 2)) {
            try registry.transact([
                .put(table: "builds", key: ItemKey("demand", "b-2"), attributes: [:], condition: .absent),
                .update(table: "models", key: ItemKey("demand"), changes: [.set("latest", "b-2")], condition: .version(1)),
            ])
        }
        #expect(try registry.get("builds", ItemKey("demand", "b-2")) == nil)
        #expect(try registry.get("models", ItemKey("demand"))?.attributes["latest"] == "b-1b")
        #expect(folder.files().filter { $0.contains("/.tmp-") }.isEmpty)
        // Only the (empty) table the transaction would have written to may appear.
        let items = { (files: [String]) in files.filter { !$0.contains("/.locks/") && !$0.hasSuffix("/.table.json") } }
        #expect(items(folder.files()) == items(before))
    }

    @Test func aCheckThatFailsCancelsTheWholeTransaction() throws {
        let registry = try folder.registry()
        #expect(throws: RegistryError.self) {
            try registry.transact([
                .put(table: "t", key: ItemKey("a"), attributes: [:], condition: .none),
                .check(table: "t", key: ItemKey("b"), condition: .exists),
            ])
        }
        #expect(try registry.get("t", ItemKey("a")) == nil)
    }

    @Test func twoWritesToOneItemAreRefused() throws {
        let registry = try folder.registry()
        let error = #expect(throws: RegistryError.self) {
            try registry.transact([
                .put(table: "t", key: ItemKey("a"), attributes: [:], condition: .none),
                .delete(table: "t", key: ItemKey("a"), condition: .none),
            ])
        }
        #expect(error?.description.contains("twice") == true)
        #expect(throws: RegistryError.self) { try registry.transact([]) }
        let tooMany = (0...Registry.maxTransactionWrites).map {
            TransactionWrite.put(table: "t", key: ItemKey("k\($0)"), attributes: [:], condition: .none)
        }
        #expect(throws: RegistryError.self) { try registry.transact(tooMany) }
    }

    /// Leaves a committed journal as a writer killed between its journal and its renames
    /// would: the temp files and the journal exist, nothing has moved.
    func leaveDeadTransaction(_ registry: Registry, moving items: [(String, ItemKey, [String: JSONValue])]) throws {
        var journal = Journal(stripes: items.map { Stripe(table: $0.0, index: Layout.stripe(of: $0.1)) })
        for (table, key, attributes) in items {
            let target = registry.layout.itemFile(table, key)
            let version = (try registry.get(table, key)?.version ?? 0) + 1
            let temp = try FileIO.writeTemporary(
                ItemCodec.encode(Item(table: table, key: key, version: version, attributes: attributes)), beside: target)
            journal.moves.append(.init(from: String(temp.dropFirst(registry.root.count + 1)), to: String(target.dropFirst(registry.root.count + 1))))
        }
        try FileIO.writeDurably(journal.json.serializedBytes(), to: registry.layout.transactionsFolder + "/dead.json")
    }

    @Test func openingTheRegistryFinishesADeadWritersTransaction() throws {
        let registry = try folder.registry()
        try registry.put("a", ItemKey("x"), ["n": 1])
        try registry.put("b", ItemKey("y"), ["n": 1])
        try leaveDeadTransaction(registry, moving: [("a", ItemKey("x"), ["n": 2]), ("b", ItemKey("y"), ["n": 2])])
        let reopened = try folder.registry()
        #expect(try reopened.get("a", ItemKey("x")).map { ($0.version, $0.attributes["n"]) } ?? (0, nil) == (2, 2))
        #expect(try reopened.get("b", ItemKey("y"))?.attributes["n"] == 2)
        #expect(folder.files().filter { $0.hasPrefix("registry/transactions/") || $0.contains("/.tmp-") }.isEmpty)
    }

    @Test func aReaderFinishesADeadWritersTransactionBeforeReading() throws {
        let registry = try folder.registry()  // long-lived, opened before the writer died
        try registry.put("a", ItemKey("x"), ["n": 1])
        try registry.put("b", ItemKey("y"), ["n": 1])
        #expect(try registry.get("b", ItemKey("y"))?.version == 1)
        try leaveDeadTransaction(registry, moving: [("a", ItemKey("x"), ["n": 2]), ("b", ItemKey("y"), ["n": 2])])
        #expect(try registry.get("a", ItemKey("x"))?.attributes["n"] == 2)
        #expect(try registry.scan("b").items.first?.attributes["n"] == 2)
    }

    @Test func deletesAndChecksOnAMissingTableCreateNoTable() throws {
        let registry = try folder.registry()
        try registry.transact([
            .put(table: "t", key: ItemKey("a"), attributes: [:], condition: .none),
            .check(table: "typo", key: ItemKey("a"), condition: .absent),
            .delete(table: "gone", key: ItemKey("a"), condition: .none),
        ])
        #expect(try registry.tables() == ["t"])
        #expect(throws: RegistryError.conditionFailed(table: "typo", key: ItemKey("a"), condition: .exists, current: nil)) {
            try registry.transact([.check(table: "typo", key: ItemKey("a"), condition: .exists)])
        }
    }

    @Test func aWriterFinishesADeadTransactionOnItsItemBeforeWriting() throws {
        let registry = try folder.registry()  // opened before the writer died: no recovery on open
        try registry.put("a", ItemKey("x"), ["n": 1])
        try registry.put("b", ItemKey("y"), ["n": 1])
        try leaveDeadTransaction(registry, moving: [("a", ItemKey("x"), ["n": 2]), ("b", ItemKey("y"), ["n": 2])])

        #expect(throws: RegistryError.conditionFailed(table: "b", key: ItemKey("y"), condition: .version(1), current: 2)) {
            try registry.put("b", ItemKey("y"), ["n": 10], condition: .version(1))
        }
        #expect(try registry.get("a", ItemKey("x"))?.attributes["n"] == 2)
        #expect(try registry.update("b", ItemKey("y"), [.add("n", 1)]).attributes["n"] == 3)
    }

    @Test func aTransactionFileDecodesEveryKindOfWrite() throws {
        let file = try JSONValue(parsing: """
            [{"op": "put", "table": "builds", "pk": "demand", "sk": "b-2", "item": {"s": 1}, "ifAbsent": true},
             {"op": "update", "table": "models", "pk": "demand", "set": {"latest": "b-2"}, "remove": ["old"], "add": {"n": 1}, "ifVersion": 3},
             {"op": "delete", "table": "locks", "pk": "demand", "ifExists": true},
             {"op": "check", "table": "models", "pk": "price"}]
            """)
        #expect(try TransactionWrite.decodeList(file) == [
            .put(table: "builds", key: ItemKey("demand", "b-2"), attributes: ["s": 1], condition: .absent),
            .update(table: "models", key: ItemKey("demand"), changes: [.set("latest", "b-2"), .remove("old"), .add("n", 1)], condition: .version(3)),
            .delete(table: "locks", key: ItemKey("demand"), condition: .exists),
            .check(table: "models", key: ItemKey("price"), condition: .none),
        ])
    }

    @Test func aBadTransactionFileReportsEveryProblemWithItsPointer() throws {
        let file = try JSONValue(parsing: """
            [{"op": "put", "table": "t", "pk": "a", "ifAbsent": 1},
             {"op": "upsert", "table": "t", "pk": "b"},
             {"op": "update", "table": "t", "pk": "c", "add": {"n": "one"}, "ifVersion": 0, "colour": 1}]
            """)
        let error = #expect(throws: RegistryError.self) { try TransactionWrite.decodeList(file) }
        let message = error?.description ?? ""
        for expected in ["/0/item: expected an object", "/0/ifAbsent: expected true or false", "/1/op: expected one of put, update, delete, check",
                         "/2/add/n: expected a number", "/2/ifVersion: expected a positive integer", "/2/colour: unknown field"] {
            #expect(message.contains(expected), "missing \(expected) in \(message)")
        }
    }
}
