import Foundation
import Testing
@testable import Registry

@Suite struct RegistryQueryTests {
    let folder = TemporaryFolder()

    /// A `builds` table with sort keys b-01 ... b-12 in partition "demand", one in "other",
    /// and two hashed (over-long) sort keys in "demand".
    func seeded() throws -> Registry {
        let registry = try folder.registry()
        for n in [7, 1, 12, 3, 10, 5, 2, 9, 4, 11, 6, 8] {
            try registry.put("builds", ItemKey("demand", String(format: "b-%02d", n)), ["n": .int(Int64(n))])
        }
        try registry.put("builds", ItemKey("other", "b-01"), [:])
        return registry
    }

    func sortKeys(_ result: ReadResult) -> [String] { result.items.map { $0.key.sort! } }

    @Test func queryReturnsAPartitionInSortKeyOrder() throws {
        let result = try seeded().query("builds", partition: "demand")
        #expect(sortKeys(result) == (1...12).map { String(format: "b-%02d", $0) })
        #expect(result.problems.isEmpty)
    }

    @Test func queryByPrefixRangeReverseAndLimit() throws {
        let registry = try seeded()
        #expect(sortKeys(try registry.query("builds", partition: "demand", where: .prefix("b-1"))) == ["b-10", "b-11", "b-12"])
        #expect(sortKeys(try registry.query("builds", partition: "demand", where: .range(from: "b-04", to: "b-06"))) == ["b-04", "b-05", "b-06"])
        #expect(sortKeys(try registry.query("builds", partition: "demand", where: .range(from: "b-11", to: nil))) == ["b-11", "b-12"])
        #expect(sortKeys(try registry.query("builds", partition: "demand", where: .range(from: nil, to: "b-02"))) == ["b-01", "b-02"])
        #expect(sortKeys(try registry.query("builds", partition: "demand", descending: true, limit: 3)) == ["b-12", "b-11", "b-10"])
        #expect(sortKeys(try registry.query("builds", partition: "demand", where: .prefix("b-0"), limit: 2)) == ["b-01", "b-02"])
        #expect(try registry.query("builds", partition: "nobody").items.isEmpty)
    }

    @Test func sortKeysOrderByUTF8BytesIncludingHashedNames() throws {
        let registry = try folder.registry()
        let long = String(repeating: "z", count: 300)
        let keys = ["a", "B", "é", "a b", long, "~", "a" + long]
        for key in keys { try registry.put("t", ItemKey("p", key), [:]) }
        let expected = keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
        #expect(sortKeys(try registry.query("t", partition: "p")) == expected)
        #expect(sortKeys(try registry.query("t", partition: "p", where: .prefix("a"))) == ["a", "a b", "a" + long])
        #expect(sortKeys(try registry.query("t", partition: "p", descending: true, limit: 2)) == Array(expected.reversed().prefix(2)))
    }

    @Test func queryOnATableWithoutSortKeysSaysToUseGet() throws {
        let registry = try folder.registry()
        try registry.put("models", ItemKey("demand"), [:])
        let error = #expect(throws: RegistryError.self) { try registry.query("models", partition: "demand") }
        #expect(error?.description.contains("use get or scan") == true)
    }

    @Test func scanReturnsEveryItemOrderedByKey() throws {
        let registry = try seeded()
        let keys = try registry.scan("builds").items.map(\.key)
        #expect(keys.count == 13)
        #expect(keys.first == ItemKey("demand", "b-01"))
        #expect(keys.last == ItemKey("other", "b-01"))
        try registry.put("models", ItemKey("b"), [:])
        try registry.put("models", ItemKey("a"), [:])
        #expect(try registry.scan("models").items.map(\.key) == [ItemKey("a"), ItemKey("b")])
        #expect(try registry.scan("missing").items.isEmpty)
    }

    @Test func aCorruptItemIsReportedWithItsPathAndSkippedByScans() throws {
        let registry = try seeded()
        let corrupt = folder.path + "/registry/tables/builds/demand/b-05.json"
        try Data("{\"format\": 1, \"item\": {\"n\": 5".utf8).write(to: URL(fileURLWithPath: corrupt))
        let foreign = folder.path + "/registry/tables/builds/demand/notes.txt"
        try Data("hello".utf8).write(to: URL(fileURLWithPath: foreign))
        let empty = folder.path + "/registry/tables/builds/demand/b-06.json"
        try Data().write(to: URL(fileURLWithPath: empty))

        let result = try registry.query("builds", partition: "demand")
        #expect(result.items.count == 10)
        #expect(Set(result.problems.map(\.path)) == [corrupt, foreign, empty])
        #expect(try registry.scan("builds").problems.count == 3)
        let error = #expect(throws: RegistryError.self) { try registry.get("builds", ItemKey("demand", "b-05")) }
        #expect(error?.description.contains(corrupt) == true)
        #expect(try registry.get("builds", ItemKey("demand", "b-04"))?.attributes["n"] == 4)
        // Overwriting the corrupt item is refused rather than guessing its version.
        #expect(throws: RegistryError.self) { try registry.put("builds", ItemKey("demand", "b-05"), [:]) }
    }

    @Test func scanFindsItemsOfOverLongPartitionKeys() throws {
        let registry = try folder.registry()
        let long = String(repeating: "é", count: 120)
        try registry.put("builds", ItemKey(long, "b1"), ["n": 1])
        try registry.put("builds", ItemKey(long, String(repeating: "s", count: 300)), ["n": 2])
        try registry.put("builds", ItemKey("short", "b1"), ["n": 3])
        let scan = try registry.scan("builds")
        #expect(scan.problems.isEmpty)
        #expect(scan.items.map { $0.attributes["n"] } == [3, 1, 2])
        #expect(try registry.query("builds", partition: long).items.count == 2)
        #expect(try registry.check().problems.isEmpty)
    }

    @Test func anItemFileMovedUnderAnotherKeyIsCorruptNotMisread() throws {
        let registry = try seeded()
        let base = folder.path + "/registry/tables/builds/demand/"
        try FileManager.default.copyItem(atPath: base + "b-01.json", toPath: base + "b-99.json")
        let result = try registry.query("builds", partition: "demand", where: .prefix("b-9"))
        #expect(result.items.isEmpty)
        #expect(result.problems.map(\.path) == [base + "b-99.json"])
        #expect(throws: RegistryError.self) { try registry.get("builds", ItemKey("demand", "b-99")) }
    }
}

@Suite struct RegistryCheckTests {
    let folder = TemporaryFolder()

    @Test func checkReportsCorruptFilesAndRemovesOnlyStaleTemporaries() throws {
        let registry = try folder.registry()
        try registry.put("builds", ItemKey("demand", "b-1"), [:])
        try registry.put("builds", ItemKey("demand", "b-2"), [:])
        try registry.put("models", ItemKey("demand"), [:])
        let partition = folder.path + "/registry/tables/builds/demand/"
        try Data("{".utf8).write(to: URL(fileURLWithPath: partition + "b-2.json"))
        let dead: pid_t = 2_147_483_646  // no such process
        let stale = partition + ".tmp-\(dead)-1", fresh = partition + ".tmp-\(dead)-2", live = partition + ".tmp-\(getpid())-3"
        for path in [stale, fresh, live] { try Data("x".utf8).write(to: URL(fileURLWithPath: path)) }
        for path in [stale, live] {
            try FileManager.default.setAttributes([.modificationDate: Date(timeIntervalSinceNow: -3600)], ofItemAtPath: path)
        }
        try Data("not a journal".utf8).write(to: URL(fileURLWithPath: folder.path + "/registry/transactions/junk.json"))

        let report = try registry.check()
        #expect(report.tables == 2)
        #expect(report.items == 2)
        #expect(Set(report.problems.map(\.path)) == [partition + "b-2.json", folder.path + "/registry/transactions/junk.json"])
        #expect(report.removedTemporaries == [stale])
        #expect(FileManager.default.fileExists(atPath: fresh))  // too young
        #expect(FileManager.default.fileExists(atPath: live))  // its writer still runs
    }
}

@Suite struct CheckReportTests {
    @Test func aCheckReportReadsAsJSONWithEveryProblemAndRemovedFile() {
        let report = CheckReport(tables: 2, items: 5, problems: [RegistryProblem(path: "builds/x.json", reason: "not JSON")],
                                 removedTemporaries: ["builds/.tmp-1"])
        #expect(report.json == ["tables": 2, "items": 5, "problems": [["path": "builds/x.json", "reason": "not JSON"]],
                                "removedTemporaries": ["builds/.tmp-1"]])
    }
}
