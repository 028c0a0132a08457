import Foundation
import Registry
import Testing

@Suite(.serialized) struct RegistryCLITests {
    let home = TemporaryHome()

    func run(_ arguments: String..., input: String? = nil) async throws -> Slipway.Result {
        try await Slipway.run(arguments, home: home.path, input: input)
    }

    @Test func getJSONPrintsTheVersionAndTheItem() async throws {
        #expect(try await run("registry", "put", "builds", "demand", "b-1", "--item", #"{"status": "ok", "n": 1}"#).status == 0)
        let result = try await run("registry", "get", "builds", "demand", "b-1", "--json")
        #expect(result.status == 0)
        let value = try JSONValue(parsing: result.stdout)
        #expect(value["version"] == 1)
        #expect(value["item"] == ["status": "ok", "n": 1])
        #expect(value["pk"] == "demand")
        #expect(value["sk"] == "b-1")
    }

    @Test func aMissingItemExitsFourAndSaysWhatToDo() async throws {
        let result = try await run("registry", "get", "models", "nope")
        #expect(result.status == 4)
        #expect(result.stderr.contains("no item 'nope' in table 'models'"))
        #expect(try await run("registry", "delete", "models", "nope").status == 4)
    }

    @Test func aFailedConditionExitsThreeNamingTheItemAndItsVersion() async throws {
        #expect(try await run("registry", "put", "models", "demand", "--item", "{}", "--if-absent").status == 0)
        #expect(try await run("registry", "put", "models", "demand", "--item", "{}").status == 0)
        let absent = try await run("registry", "put", "models", "demand", "--item", "{}", "--if-absent")
        #expect(absent.status == 3)
        #expect(absent.stderr.contains("item 'demand' in table 'models' is at version 2"))
        let stale = try await run("registry", "update", "models", "demand", "--set", "a=1", "--if-version", "1")
        #expect(stale.status == 3)
        #expect(try await run("registry", "delete", "models", "demand", "--if-version", "1").status == 3)
        #expect(try await run("registry", "delete", "models", "demand", "--if-version", "2").status == 0)
    }

    @Test(arguments: [
        ["registry", "put", "t", "k"],
        ["registry", "put", "t", "k", "--item", "{bad"],
        ["registry", "put", "t", "k", "--item", "[1]"],
        ["registry", "put", "t", "k", "--item", "{}", "--if-absent", "--if-version", "2"],
        ["registry", "update", "t", "k"],
        ["registry", "update", "t", "k", "--set", "novalue"],
        ["registry", "update", "t", "k", "--add", "n=abc"],
        ["registry", "query", "t", "p", "--prefix", "a", "--from", "b"],
        ["registry", "query", "t", "p", "--limit", "0"],
        ["registry", "frobnicate"],
    ])
    func usageErrorsExitTwo(arguments: [String]) async throws {
        let result = try await Slipway.run(arguments, home: home.path)
        #expect(result.status == 2, "\(arguments): \(result.stderr)")
        #expect(!result.stderr.isEmpty)
    }

    @Test func invalidJSONValuesAreQuotedInTheError() async throws {
        let result = try await run("registry", "put", "t", "k", "--item", "{bad")
        #expect(result.stderr.contains("'{bad' is not valid JSON"))
    }

    @Test(arguments: [["--help"], ["registry", "--help"], ["registry", "query", "--help"], ["registry", "transact", "--help"]])
    func helpIsEverywhere(arguments: [String]) async throws {
        let result = try await Slipway.run(arguments, home: home.path)
        #expect(result.status == 0)
        #expect(result.stdout.contains("USAGE"))
    }

    @Test func updateSetsRemovesAndAdds() async throws {
        _ = try await run("registry", "put", "t", "k", "--item", #"{"drop": 1, "n": 2}"#)
        let result = try await run("registry", "update", "t", "k", "--set", #"status="live""#, "--remove", "drop", "--add", "n=3", "--json")
        #expect(result.status == 0)
        #expect(try JSONValue(parsing: result.stdout)["item"] == ["status": "live", "n": 5])
    }

    @Test func queryAndScanPrintJSONArraysShapedLikeGet() async throws {
        for sk in ["b-3", "b-1", "b-2", "c-1"] {
            _ = try await run("registry", "put", "builds", "demand", sk, "--item", #"{"sk": "\#(sk)"}"#)
        }
        let query = try await run("registry", "query", "builds", "demand", "--prefix", "b-", "--reverse", "--limit", "2", "--json")
        let items = try JSONValue(parsing: query.stdout).arrayValue ?? []
        #expect(items.map { $0["sk"] } == ["b-3", "b-2"])
        #expect(items.allSatisfy { $0["version"] == 1 && $0["item"]?.objectValue != nil })
        let range = try await run("registry", "query", "builds", "demand", "--from", "b-2", "--to", "c-1", "--json")
        #expect(try JSONValue(parsing: range.stdout).arrayValue?.map { $0["sk"] } == ["b-2", "b-3", "c-1"])
        let scan = try await run("registry", "scan", "builds", "--json")
        #expect(try JSONValue(parsing: scan.stdout).arrayValue?.count == 4)
        #expect(try await run("registry", "tables", "--json").stdout.contains(#"["builds"]"#))
    }

    @Test func scanPrintsWhatItCanReadThenFailsNamingACorruptFile() async throws {
        _ = try await run("registry", "put", "models", "a", "--item", "{}")
        _ = try await run("registry", "put", "models", "b", "--item", "{}")
        let corrupt = home.path + "/registry/tables/models/a.json"
        try Data("{\"format\": 1, \"it".utf8).write(to: URL(fileURLWithPath: corrupt))
        let scan = try await run("registry", "scan", "models", "--json")
        #expect(scan.status == 1)
        #expect(scan.stderr.contains(corrupt))
        #expect(try JSONValue(parsing: scan.stdout).arrayValue?.map { $0["pk"] } == ["b"])
        let get = try await run("registry", "get", "models", "a")
        #expect(get.status == 1)
        #expect(get.stderr.contains(corrupt))
    }

    @Test func everyReaderReportsACorruptItemWithItsPathAndExitsOne() async throws {
        for (table, sort) in [("versions", "00000001"), ("versions", "00000002"), ("builds", "00000001"), ("builds", "00000002")] {
            #expect(try await run("registry", "put", table, "demand", sort, "--item", #"{"version": 1, "status": "Approved", "id": "demand-1"}"#).status == 0)
        }
        let versions = home.path + "/registry/tables/versions/demand/00000002.json"
        let builds = home.path + "/registry/tables/builds/demand/00000002.json"
        for corrupt in [versions, builds] { try Data("not json".utf8).write(to: URL(fileURLWithPath: corrupt)) }
        for (arguments, corrupt) in [(["versions", "list", "demand"], versions), (["versions", "list", "demand", "--json"], versions),
                                     (["builds", "list", "demand"], builds), (["registry", "query", "versions", "demand"], versions)] {
            let result = try await Slipway.run(arguments, home: home.path, input: nil)
            #expect(result.status == 1, "\(arguments): \(result.stderr)")
            #expect(result.stderr.contains(corrupt), "\(arguments): \(result.stderr)")
        }
        let show = try await run("versions", "show", "demand", "2")
        #expect(show.status == 1)
        #expect(show.stderr.contains(versions))

        let broken = home.path + "/executions/broken"
        try FileManager.default.createDirectory(atPath: broken, withIntermediateDirectories: true)
        try Data("{".utf8).write(to: URL(fileURLWithPath: broken + "/execution.json"))
        let executions = try await run("executions", "list")
        #expect(executions.status == 1)
        #expect(executions.stderr.contains(broken), "\(executions.stderr)")
    }

    @Test func aKeyThatIsNotUTF8ExitsTwoNamingItEscapedAndWritesNothing() async throws {
        let shell = Shell()
        let latin1 = try await shell.run(#""$SLIPWAY" registry put models "$(printf 'caf\351')" --item '{}'"#)
        #expect(latin1.status == 2, "\(latin1.stderr)")
        #expect(latin1.stderr.contains(#""caf\xE9""#), "\(latin1.stderr)")
        #expect(try await shell.run(#""$SLIPWAY" registry put models "$(printf 'caf\350')" --item '{}'"#).status == 2)
        #expect(!FileManager.default.fileExists(atPath: shell.home + "/registry/tables/models"), "nothing was written")
        #expect(try await shell.run(#""$SLIPWAY" registry put models 'café' --item '{}'"#).status == 0)
    }

    @Test func theApproverIsTheLocalUserFromTheSystemNotTheUSERVariable() async throws {
        let shell = Shell()
        #expect(try await shell.run(#"""
            "$SLIPWAY" registry put versions demand 00000001 --item '{"version": 1, "status": "PendingManualApproval", "model": "demand"}'
            """#).status == 0)
        let approve = try await shell.run(#"USER=mallory LOGNAME=mallory "$SLIPWAY" approve demand 1"#)
        #expect(approve.status == 0, "\(approve.stderr)")
        let me = try await shell.run("id -un").stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let shown = try JSONValue(parsing: try await shell.run(#""$SLIPWAY" versions show demand 1 --json"#).stdout)
        #expect(shown["decidedBy"]?.stringValue == me)
        #expect(me != "mallory")
    }

    @Test func transactAppliesAFileOrNothing() async throws {
        _ = try await run("registry", "put", "models", "demand", "--item", #"{"latest": "b-1"}"#)
        let file = home.path + "/tx.json"
        try Data("""
            [{"op": "put", "table": "builds", "pk": "demand", "sk": "b-2", "item": {"status": "ok"}, "ifAbsent": true},
             {"op": "update", "table": "models", "pk": "demand", "set": {"latest": "b-2"}, "ifVersion": 1}]
            """.utf8).write(to: URL(fileURLWithPath: file))
        #expect(try await run("registry", "transact", "--file", file).status == 0)
        let again = try await run("registry", "transact", "--file", file)
        #expect(again.status == 3)
        #expect(again.stderr.contains("'demand'/'b-2' in table 'builds' is at version 1"))
        #expect(try await JSONValue(parsing: run("registry", "get", "models", "demand", "--json").stdout)["version"] == 2)
        let fromStdin = try await run("registry", "transact", "--file", "-", input: #"[{"op": "delete", "table": "models", "pk": "demand"}]"#)
        #expect(fromStdin.status == 0)
        let bad = try await run("registry", "transact", "--file", "-", input: #"[{"op": "put", "table": "t"}]"#)
        #expect(bad.status == 1)
        #expect(bad.stderr.contains("/0/pk: expected a string"))
    }

    @Test func theDemoRecordsABuildEachRun() async throws {
        #expect(try await Slipway.run(["demo"], home: home.path).status == 0)
        let second = try await Slipway.run(["demo"], home: home.path)
        #expect(second.status == 0)
        #expect(second.stdout.contains("a stale writer is refused"))
        let builds = try JSONValue(parsing: try await run("registry", "query", "builds", "demand", "--json").stdout)
        #expect(builds.arrayValue?.count == 2)
    }
}
