import Foundation
import Home
import Testing

/// `Processes.withChild`: a long-lived child spoken to over its standard input and output.
@Suite struct ChildProcessTests {
    let fixture = ProcessFixture()

    @Test func bytesWrittenToTheChildComeBackThroughItsOutput() async throws {
        let echoed = try await Processes.withChild(ProcessSpec("/bin/cat"), errorLog: nil) { child in
            var reader = ChildOutput.Reader(child.output)
            try await child.write(Array("hello\n".utf8))
            let first = try await reader.read(exactly: 6)
            try await child.write([0, 0, 0, 3] + Array("abc".utf8))
            let length = try #require(try await reader.read(exactly: 4))
            let body = try await reader.read(exactly: Int(length[3]))
            try await child.closeInput()
            let end = try await reader.read(exactly: 1)
            return (first.map { String(decoding: $0, as: UTF8.self) }, body.map { String(decoding: $0, as: UTF8.self) }, end == nil)
        }
        #expect(echoed.0 == "hello\n")
        #expect(echoed.1 == "abc")
        #expect(echoed.2, "closing standard input ends cat's output")
    }

    @Test func standardErrorGoesToTheErrorLog() async throws {
        let log = fixture.root + "/worker.log"
        try await Processes.withChild(fixture.sh("echo to-the-log >&2; echo ready"), errorLog: log) { child in
            var reader = ChildOutput.Reader(child.output)
            _ = try await reader.read(exactly: 6)
        }
        #expect(try String(contentsOfFile: log, encoding: .utf8) == "to-the-log\n")
    }

    @Test func theChildsGroupEndsWhenTheBodyReturns() async throws {
        let started = ContinuousClock.now
        let pid = try await Processes.withChild(
            fixture.sh("sleep 300 & echo $! > \(fixture.root)/sleeper; exec sleep 300"), errorLog: nil, grace: .seconds(1)
        ) { child in
            _ = try await fixture.pid(in: "sleeper")
            return child.pid
        }
        #expect(ContinuousClock.now - started < ProcessFixture.bound)
        let sleeper = try #require(try await fixture.pid(in: "sleeper"))
        #expect(try await ProcessFixture.eventually { !ProcessFixture.alive(sleeper) && !ProcessFixture.groupAlive(pid) })
    }

    @Test func theChildsGroupEndsWhenTheCallerIsCancelled() async throws {
        let started = ContinuousClock.now
        let leader = try await withThrowingTaskGroup(of: Int32?.self) { group in
            group.addTask {
                try await Processes.withChild(fixture.sh("echo $$ > \(fixture.root)/leader; exec sleep 300"), errorLog: nil, grace: .seconds(1)) { _ in
                    try await Task.sleep(for: .seconds(300))
                }
                return nil
            }
            let leader = try await fixture.pid(in: "leader")
            group.cancelAll()
            // The body's sleep throws CancellationError, which withChild passes on.
            await #expect(throws: CancellationError.self) { try await group.waitForAll() }
            return leader
        }
        #expect(ContinuousClock.now - started < ProcessFixture.bound)
        let pid = try #require(leader)
        #expect(try await ProcessFixture.eventually { !ProcessFixture.groupAlive(pid) })
    }

    @Test func aSignalSentToTheChildReachesItsTrap() async throws {
        let log = fixture.root + "/trap.log"
        let status = try await Processes.withChild(
            fixture.sh("trap 'echo got USR1 >&2; exit 0' USR1; echo ready; while true; do sleep 0.1; done"), errorLog: log
        ) { child in
            var reader = ChildOutput.Reader(child.output)
            _ = try await reader.read(exactly: 6)
            try child.send(signal: SIGUSR1)
            return try await reader.read(exactly: 1) == nil
        }
        #expect(status, "the output ends when the trap exits")
        #expect(try String(contentsOfFile: log, encoding: .utf8) == "got USR1\n")
    }
}
