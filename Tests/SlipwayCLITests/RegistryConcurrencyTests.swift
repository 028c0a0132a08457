import Foundation
import Registry
import Testing

/// Several real `slipway` processes writing one registry at once, and writers killed with
/// SIGKILL at random moments.
@Suite(.serialized) struct RegistryConcurrencyTests {
    let home = TemporaryHome()

    /// A worker that increments counters/c N times by get + put --if-version, retrying on
    /// exit 3, and prints how many increments were acknowledged.
    static let incrementer = #"""
        acked=0
        for i in $(seq 1 "$COUNT"); do
          while true; do
            out=$("$SLIPWAY" registry get counters c --json --home "$HOME_DIR"); rc=$?
            if [ $rc -eq 4 ]; then cond="--if-absent"; n=0
            elif [ $rc -eq 0 ]; then
              v=$(printf '%s' "$out" | sed -E 's/.*"version":([0-9]+)}$/\1/')
              n=$(printf '%s' "$out" | sed -E 's/.*"n":([0-9]+).*/\1/')
              cond="--if-version $v"
            else echo "get failed: $rc" >&2; exit 1; fi
            "$SLIPWAY" registry put counters c --item "{\"n\": $((n + 1))}" $cond --home "$HOME_DIR" >/dev/null 2>&1; rc=$?
            if [ $rc -eq 0 ]; then acked=$((acked + 1)); break
            elif [ $rc -ne 3 ]; then echo "put failed: $rc" >&2; exit 1; fi
          done
        done
        echo "$acked"
        """#

    @Test func processesIncrementingOneCounterWithVersionChecksLoseNothing() async throws {
        let workers = try (0..<4).map { _ in
            try Slipway.Running(
                executable: "/bin/bash", arguments: ["-c", Self.incrementer],
                environment: ["SLIPWAY": Slipway.binary, "HOME_DIR": home.path, "COUNT": "15"], input: nil)
        }
        var results: [Slipway.Result] = []
        for worker in workers { results.append(await worker.wait()) }
        for result in results { #expect(result.status == 0, "\(result.stderr)") }
        let acknowledged = results.compactMap { Int($0.stdout.trimmingCharacters(in: .whitespacesAndNewlines)) }.reduce(0, +)
        #expect(acknowledged == 60)
        let counter = try Registry(home: home.path).get("counters", ItemKey("c"))
        #expect(counter?.attributes["n"] == .int(Int64(acknowledged)))
        #expect(counter?.version == acknowledged)
    }

    /// Microseconds one run of `arguments` takes from start to exit, so kills can be spread
    /// over a whole run (start-up, write, exit) on fast and slow machines alike.
    func typicalDuration(_ arguments: [String], input: String? = nil) async throws -> UInt32 {
        let start = DispatchTime.now()
        _ = try await Slipway.run(arguments, home: home.path, input: input)
        return UInt32((DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1000)
    }

    @Test func writersKilledAtRandomMomentsLoseNoAcknowledgedWrite() async throws {
        var generator = SystemRandomNumberGenerator()
        let window = try await typicalDuration(["registry", "update", "kill", "warm-up", "--add", "n=1"]) * 5 / 4
        let padding = String(repeating: "x", count: 4096)  // a bigger write widens the window
        var acknowledged: [Int] = []
        var counterAcks = 0
        var counterAttempts = 0
        var killedCount = 0
        for round in 0..<40 {
            let put = try Slipway.start(
                ["registry", "put", "kill", "item-\(round)", "--item", #"{"round": \#(round), "pad": "\#(padding)"}"#], home: home.path)
            let add = try Slipway.start(["registry", "update", "kill", "counter", "--add", "n=1"], home: home.path)
            counterAttempts += 1
            try await Task.sleep(for: .microseconds(UInt32.random(in: 0...window, using: &generator)))
            put.kill()
            add.kill()
            let putResult = await put.wait()
            let addResult = await add.wait()
            if putResult.status == 0 && !putResult.killed { acknowledged.append(round) }
            if addResult.status == 0 && !addResult.killed { counterAcks += 1 }
            killedCount += (putResult.killed ? 1 : 0) + (addResult.killed ? 1 : 0)
            #expect(putResult.killed || putResult.status == 0, "\(putResult.stderr)")
        }
        #expect(killedCount > 0, "no writer was killed: the test exercised nothing")
        #expect(!acknowledged.isEmpty, "no writer finished: the test checked nothing")

        let registry = try Registry(home: home.path)
        let scan = try registry.scan("kill")
        #expect(scan.problems.isEmpty, "torn or corrupt items: \(scan.problems)")
        for round in acknowledged {
            let item = try registry.get("kill", ItemKey("item-\(round)"))
            #expect(item?.attributes["round"] == .int(Int64(round)), "acknowledged put \(round) is missing")
        }
        if let counter = try registry.get("kill", ItemKey("counter")) {
            let n = Int(counter.attributes["n"]?.intValue ?? -1)
            #expect(n == counter.version, "the count and the version moved apart")
            #expect(n >= counterAcks && n <= counterAttempts)
        } else {
            #expect(counterAcks == 0)
        }
    }

    /// Items a, b (to update) and c (to delete) at version 1, and a transaction over them.
    func prepareTransaction() async throws -> String {
        let registry = try Registry(home: home.path)
        try registry.put("t", ItemKey("a"), ["n": 1])
        try registry.put("t", ItemKey("b"), ["n": 1])
        try registry.put("t", ItemKey("c"), ["n": 1])
        return """
            [{"op": "update", "table": "t", "pk": "a", "add": {"n": 1}, "ifVersion": 1},
             {"op": "put", "table": "t", "pk": "b", "item": {"n": 2}},
             {"op": "delete", "table": "t", "pk": "c"},
             {"op": "put", "table": "u", "pk": "new", "sk": "item", "item": {"n": 2}}]
            """
    }

    /// The state of the four items: "old" (none applied), "new" (all applied) or "torn".
    func transactionState() async throws -> String {
        let registry = try Registry(home: home.path)  // opening finishes dead transactions
        let a = try registry.get("t", ItemKey("a"))?.attributes["n"]
        let b = try registry.get("t", ItemKey("b"))?.attributes["n"]
        let c = try registry.get("t", ItemKey("c"))
        let u = try registry.get("u", ItemKey("new", "item"))
        if a == 1 && b == 1 && c != nil && u == nil { return "old" }
        if a == 2 && b == 2 && c == nil && u?.attributes["n"] == 2 { return "new" }
        return "torn: a=\(String(describing: a)) b=\(String(describing: b)) c=\(c != nil) u=\(u != nil)"
    }

    @Test(arguments: [("before-journal", "old"), ("after-journal", "new"), ("mid-apply", "new")])
    func aTransactionKilledAtAnyStepIsAllOrNothing(point: String, expected: String) async throws {
        let transaction = try await prepareTransaction()
        let result = try await Slipway.run(
            ["registry", "transact", "--file", "-"], home: home.path, environment: ["SLIPWAY_CRASH_POINT": point], input: transaction)
        #expect(result.killed, "the crash point '\(point)' was not reached")
        if point != "before-journal" {
            // The writer died holding a committed journal; a reader before recovery may see a mix.
            let journals = try FileManager.default.contentsOfDirectory(atPath: home.path + "/registry/transactions")
            #expect(journals.contains { $0.hasSuffix(".json") && !$0.hasPrefix(".") })
        }
        #expect(try await transactionState() == expected)
        #expect(try FileManager.default.contentsOfDirectory(atPath: home.path + "/registry/transactions")
            .filter { !$0.hasPrefix(".") }.isEmpty)
        // What the dead writer left behind (three temporaries before its journal) is swept.
        let check = try await Slipway.run(["registry", "check", "--older-than", "0", "--json"], home: home.path)
        #expect(check.status == 0, "\(check.stderr)")
        let removed = try JSONValue(parsing: check.stdout)["removedTemporaries"]?.arrayValue?.count
        #expect(removed == (point == "before-journal" ? 3 : 0))
    }

    @Test func aWriterOpenedBeforeTheCrashFinishesTheTransactionBeforeWriting() async throws {
        let transaction = try await prepareTransaction()
        let registry = try Registry(home: home.path)  // opened while no journal existed
        let result = try await Slipway.run(
            ["registry", "transact", "--file", "-"], home: home.path, environment: ["SLIPWAY_CRASH_POINT": "mid-apply"], input: transaction)
        #expect(result.killed)
        #expect(throws: RegistryError.self) { try registry.put("t", ItemKey("b"), ["n": 9], condition: .version(1)) }
        #expect(try registry.get("t", ItemKey("b"))?.version == 2)
        #expect(try await transactionState() == "new")
    }

    @Test func transactionsKilledAtRandomMomentsAreAllOrNothing() async throws {
        var generator = SystemRandomNumberGenerator()
        let registry = try Registry(home: home.path)
        try registry.put("pair", ItemKey("left"), ["n": 0])
        try registry.put("pair", ItemKey("right"), ["n": 0])
        let transaction = """
            [{"op": "update", "table": "pair", "pk": "left", "add": {"n": 1}},
             {"op": "update", "table": "pair", "pk": "right", "add": {"n": 1}}]
            """
        let window = try await typicalDuration(["registry", "transact", "--file", "-"], input: transaction) * 5 / 4
        var committed = 1  // the warm-up run above
        for _ in 0..<30 {
            let running = try Slipway.start(["registry", "transact", "--file", "-"], home: home.path, input: transaction)
            try await Task.sleep(for: .microseconds(UInt32.random(in: 0...window, using: &generator)))
            running.kill()
            let result = await running.wait()
            if !result.killed && result.status == 0 { committed += 1 }
            let reopened = try Registry(home: home.path)
            let left = try reopened.get("pair", ItemKey("left"))?.attributes["n"]?.intValue
            let right = try reopened.get("pair", ItemKey("right"))?.attributes["n"]?.intValue
            #expect(left == right, "a transaction was torn: left \(String(describing: left)), right \(String(describing: right))")
        }
        let final = try Registry(home: home.path).get("pair", ItemKey("left"))?.attributes["n"]?.intValue ?? 0
        #expect(final >= Int64(committed))
    }
}
