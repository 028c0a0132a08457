import ArgumentParser
import ArtifactBuilder
import Foundation
import Registry

/// `slipway-bench builds`: what the hook adds to a push, push-to-build-start latency with
/// the agent running, and a rebuild of an unchanged commit. Uses the `slipway` binary
/// built beside this one.
struct BuildsBench: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "builds", abstract: "Hook, agent and rebuild figures.")
    @Option(help: "Pushes per figure.") var pushes = 15

    func run() throws {
        let bin = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        let slipway = bin.appendingPathComponent("slipway").path
        guard FileManager.default.isExecutableFile(atPath: slipway) else {
            throw ValidationError("no slipway binary at \(slipway); build it with `swift build -c release`")
        }
        let root = NSTemporaryDirectory() + "slipway-bench-builds-\(getpid())"
        defer { try? FileManager.default.removeItem(atPath: root) }
        let home = root + "/home"
        let env = [
            "SLIPWAY_HOME": home, "GIT_AUTHOR_NAME": "Bench", "GIT_AUTHOR_EMAIL": "bench@example.com",
            "GIT_COMMITTER_NAME": "Bench", "GIT_COMMITTER_EMAIL": "bench@example.com",
        ]
        func sh(_ script: String) throws -> String {
            let result = try Command.run("/bin/sh", ["-ec", script], in: root, environment: env)
            guard result.succeeded else { throw ValidationError("failed: \(script)\n\(result.output)") }
            return result.output.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        try ModelTemplate.write(to: root + "/work", name: "demand")
        _ = try sh("""
            git init -q --bare -b main plain.git && git init -q --bare -b main hooked.git
            '\(slipway)' hook install hooked.git --name demand >/dev/null
            cd work && git init -q -b main && git add . && git commit -q -m first
            git remote add plain ../plain.git && git remote add hooked ../hooked.git
            git push -q plain main && git push -q hooked main
            """)
        print("build benchmark: \(pushes) pushes per figure, slipway \(slipway)")

        // 1. A push with the hook against one without.
        func timed(_ body: () throws -> Void) rethrows -> Duration {
            let start = ContinuousClock.now
            try body()
            return ContinuousClock.now - start
        }
        var plain: [Duration] = [], hooked: [Duration] = []
        for n in 0..<pushes {
            _ = try sh("cd work && echo '# \(n)' >> train.py && git commit -qam 'change \(n)'")
            plain.append(try timed { _ = try sh("cd work && git push -q plain main") })
            hooked.append(try timed { _ = try sh("cd work && git push -q hooked main") })
        }
        let plainStats = Stats(plain), hookedStats = Stats(hooked)
        print(plainStats.line("git push without the hook"))
        print(hookedStats.line("git push with the slipway hook"))
        print(String(format: "%-52@ %+9.1f ms (ratio %.2f)", "the hook adds (median)" as NSString,
                     (hookedStats.median - plainStats.median).micros / 1000, hookedStats.median.micros / plainStats.median.micros))

        // 2. Push to build start with the agent running (its scan interval is long, so only
        //    the hook and the queue's inotify wake it).
        _ = try sh("'\(slipway)' agent --once >/dev/null")  // builds what the pushes queued; makes the environment
        let agent = Process()
        agent.executableURL = URL(fileURLWithPath: slipway)
        agent.arguments = ["agent", "run", "--interval", "60"]
        agent.environment = ProcessInfo.processInfo.environment.merging(env) { $1 }
        agent.standardOutput = FileHandle.nullDevice
        try agent.run()
        let stopAgent = {
            if agent.isRunning { kill(agent.processIdentifier, SIGTERM) }
            agent.waitUntilExit()
        }
        defer { stopAgent() }
        usleep(300_000)
        let registry = try Registry(home: home)
        var latencies: [Duration] = []
        for n in 0..<pushes {
            _ = try sh("cd work && echo '# latency \(n)' >> train.py && git commit -qam 'latency \(n)'")
            let commit = try sh("cd work && git rev-parse HEAD")
            let pushedAt = Date().timeIntervalSince1970
            _ = try sh("cd work && git push -q hooked main")
            var started: Double?
            var finished = false
            let deadline = Date().addingTimeInterval(60)
            while !finished && Date() < deadline {
                usleep(2_000)
                for build in try registry.query("builds", partition: "demand", descending: true, limit: 3).items
                where build.attributes["commit"]?.stringValue == commit {
                    started = build.attributes["startedAt"]?.doubleValue
                    finished = build.attributes["status"] != "running"
                }
            }
            guard let started, finished else { throw ValidationError("the agent did not build \(commit)") }
            latencies.append(.microseconds(Int64((started - pushedAt) * 1_000_000)))
        }
        print(Stats(latencies).line("push to build start (agent running)"))

        // 3. Rebuilding an unchanged commit: every artifact and the environment are reused.
        stopAgent()
        let rebuilds = try (0..<5).map { _ in try timed { _ = try sh("'\(slipway)' build demand >/dev/null") } }
        print(Stats(rebuilds).line("no-change rebuild (`slipway build`, whole process)"))
    }
}
