import Foundation
import Home
import Testing

/// `Processes.run` against real processes.
@Suite struct ProcessesTests {
    let fixture = ProcessFixture()

    @Test func anExitStatusComesBackAsItIs() async throws {
        let result = try await Processes.run(fixture.sh("echo out; echo err >&2; exit 3"))
        #expect(result.status == 3)
        #expect(!result.succeeded)
        #expect(result.output == "out\nerr\n")
    }

    @Test func aSignalThatEndsTheChildIsStatus128PlusItsNumber() async throws {
        let result = try await Processes.run(fixture.sh("kill -9 $$"))
        #expect(result.status == 128 + 9)
    }

    @Test func theChildSeesOnlyTheEnvironmentItWasGivenAndStartsInItsFolder() async throws {
        let env = try await Processes.run(ProcessSpec("/usr/bin/env", environment: ["ONLY": "this"]))
        #expect(env.output == "ONLY=this\n")
        let pwd = try await Processes.run(ProcessSpec("/bin/pwd", workingDirectory: fixture.root))
        #expect(pwd.output == fixture.root + "\n")
        #expect(ProcessSpec.inheritedEnvironment["PATH"] != nil)
    }

    @Test func standardInputComesFromTheFileOrIsEmpty() async throws {
        let input = fixture.root + "/input.txt"
        try Data("line one\nline two\n".utf8).write(to: URL(fileURLWithPath: input))
        let fromFile = try await Processes.run(ProcessSpec("/bin/cat"), input: input)
        #expect(fromFile.output == "line one\nline two\n")
        let empty = try await Processes.run(ProcessSpec("/bin/cat"))
        #expect(empty.output == "" && empty.succeeded)
    }

    @Test func outputReachesTheLogWhileTheChildRuns() async throws {
        let log = fixture.root + "/live.log", gate = fixture.root + "/gate"
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                // The second line waits for the test to have seen the first, however slow the machine.
                let result = try await Processes.run(fixture.sh("echo first; while [ ! -e '\(gate)' ]; do sleep 0.05; done; echo second"), log: log)
                #expect(result.output == "first\nsecond\n")
            }
            let seen = try await ProcessFixture.eventually {
                (try? String(contentsOfFile: log, encoding: .utf8)) == "first\n"
            }
            FileManager.default.createFile(atPath: gate, contents: Data())
            #expect(seen, "the first line was not in the log while the child ran")
            try await group.waitForAll()
        }
        #expect(try String(contentsOfFile: log, encoding: .utf8) == "first\nsecond\n")
    }

    @Test func aChildPrintingTenMegabytesLeavesACappedLogAndABoundedTail() async throws {
        let log = fixture.root + "/big.log"
        let result = try await Processes.run(
            fixture.sh("head -c 10485760 /dev/zero | tr '\\0' x; echo; echo the end"), log: log, logLimit: 1 << 20)
        #expect(result.succeeded)
        #expect(result.truncated)
        #expect(result.output.utf8.count <= Processes.tailLimit)
        #expect(result.output.hasSuffix("x\nthe end\n"))
        let text = try String(contentsOfFile: log, encoding: .utf8)
        #expect(text.utf8.count < (1 << 20) + 200)
        #expect(text.hasSuffix("\n[slipway: output truncated at 1048576 bytes; the rest was dropped]\n"))
    }

    @Test func aTimeoutEndsTheWholeGroupIncludingABackgroundSleep() async throws {
        let started = ContinuousClock.now
        let result = try await Processes.run(
            fixture.sh("echo $$ > \(fixture.root)/leader; sleep 300 & echo $! > \(fixture.root)/sleeper; sleep 300"),
            timeout: .seconds(1), grace: .seconds(1))
        #expect(result.timedOut)
        #expect(!result.succeeded)
        #expect(ContinuousClock.now - started < ProcessFixture.bound)
        let leader = try #require(try await fixture.pid(in: "leader"))
        let sleeper = try #require(try await fixture.pid(in: "sleeper"))
        #expect(try await ProcessFixture.eventually { !ProcessFixture.alive(sleeper) }, "the background sleep survived")
        #expect(try await ProcessFixture.eventually { !ProcessFixture.groupAlive(leader) }, "a process of the group survived")
    }

    @Test func sigtermReachesTheChildsTrapOnTimeout() async throws {
        let result = try await Processes.run(
            fixture.sh("trap 'echo got TERM; exit 7' TERM; echo ready; while true; do sleep 0.1; done"),
            timeout: .milliseconds(500), grace: .seconds(5))
        #expect(result.timedOut)
        #expect(result.status == 7, "\(result.output)")
        #expect(result.output.contains("got TERM"))
    }

    @Test func theChildStartsWithNoSignalBlockedOrIgnoredInAGroupOfItsOwn() async throws {
        // This process ignores SIGPIPE and its threads may block signals; none of it reaches the child.
        let result = try await Processes.run(fixture.sh("grep -E '^(SigBlk|SigIgn)' /proc/self/status; ps -o pid=,pgid= -p $$"))
        let lines = result.output.split(separator: "\n").map(String.init)
        // The standard signals (1 to 31); glibc keeps 32 and 33 for itself.
        let masks = lines.prefix(2).map { UInt64($0.split(separator: "\t").last ?? "", radix: 16).map { $0 & 0x7FFF_FFFF } }
        #expect(masks == [0, 0], "\(result.output)")
        let ids = lines.last?.split(separator: " ").map(String.init) ?? []
        #expect(ids.count == 2 && ids[0] == ids[1], "the child leads its own group: \(result.output)")
    }

    @Test func aDetachedChildOutlivesTheCallLogsToItsFileAndLeadsItsOwnSession() async throws {
        let log = fixture.root + "/daemon.log"
        let pid = try await Processes.startDetached(fixture.sh("echo started; exec sleep 280"), log: log)
        defer { kill(pid, SIGKILL) }
        #expect(ProcessFixture.alive(pid))
        #expect(getsid(pid) == pid, "the detached child leads a session of its own")
        #expect(try await ProcessFixture.eventually { (try? String(contentsOfFile: log, encoding: .utf8)) == "started\n" })
    }

    @Test func aDaemonTheChildLeftBehindIsKilledWhenItExits() async throws {
        // One daemon holds the output pipe open, the other does not; neither delays the result.
        let started = ContinuousClock.now
        let result = try await Processes.run(
            fixture.sh("sleep 300 & echo $! > \(fixture.root)/holder; sleep 300 >/dev/null 2>&1 & echo $! > \(fixture.root)/quiet; echo done"))
        #expect(result.succeeded)
        #expect(result.output == "done\n")
        #expect(ContinuousClock.now - started < ProcessFixture.bound)
        let holder = try #require(try await fixture.pid(in: "holder"))
        let quiet = try #require(try await fixture.pid(in: "quiet"))
        #expect(try await ProcessFixture.eventually { !ProcessFixture.alive(holder) && !ProcessFixture.alive(quiet) })
    }

    @Test func cancellingTheCallerEndsTheGroup() async throws {
        let started = ContinuousClock.now
        let leader = try await withThrowingTaskGroup(of: Int32?.self) { group in
            group.addTask {
                _ = try await Processes.run(fixture.sh("echo $$ > \(fixture.root)/leader; sleep 300"), grace: .seconds(1))
                return nil
            }
            let leader = try await fixture.pid(in: "leader")
            group.cancelAll()
            try await group.waitForAll()
            return leader
        }
        #expect(ContinuousClock.now - started < ProcessFixture.bound)
        let pid = try #require(leader)
        #expect(try await ProcessFixture.eventually { !ProcessFixture.groupAlive(pid) })
    }

    @Test func aProgramThatCannotStartIsAnErrorNamingIt() async throws {
        let error = await #expect(throws: ProcessError.self) { try await Processes.run(ProcessSpec("/nonexistent/tool")) }
        #expect(error?.description.contains("'/nonexistent/tool'") == true)
        let relative = await #expect(throws: ProcessError.self) { try await Processes.run(ProcessSpec("sh")) }
        #expect(relative?.description.contains("absolute path") == true)
        let input = await #expect(throws: ProcessError.self) { try await Processes.run(ProcessSpec("/bin/cat"), input: "/nonexistent/input") }
        #expect(input?.description.contains("'/nonexistent/input'") == true)
    }

    @Test func whichFindsProgramsOnPath() {
        #expect(Processes.which("sh").map { $0.hasSuffix("/sh") } == true)
        #expect(Processes.which("/bin/sh") == "/bin/sh")
        #expect(Processes.which("no-such-program-slipway") == nil)
    }
}
