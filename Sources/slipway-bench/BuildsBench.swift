import ArgumentParser
import ArtifactBuilder
import Foundation
import Home
import Registry

/// `slipway-bench builds`: what the hook adds to a push, push-to-build-start latency with
/// the agent running, and a rebuild of an unchanged commit. Uses the `slipway` binary
/// built beside this one.
struct BuildsBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "builds", abstract: "Hook, agent and rebuild figures.")
    @Option(help: "Pushes per figure.") var pushes = 15

    func run() async throws {
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
        let environment = ProcessSpec.inheritedEnvironment.merging(env) { $1 }
        func sh(_ script: String) async throws -> String {
            let result = try await Processes.run(ProcessSpec("/bin/sh", ["-ec", script], environment: environment, workingDirectory: root))
            guard result.succeeded else { throw ValidationError("failed: \(script)\n\(result.output)") }
            return result.output.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        try ModelTemplate.write(to: root + "/work", name: "demand")
        _ = try await sh("""
            git init -q --bare -b main plain.git && git init -q --bare -b main hooked.git
            '\(slipway)' hook install hooked.git --name demand >/dev/null
            cd work && git init -q -b main && git add . && git commit -q -m first
            git remote add plain ../plain.git && git remote add hooked ../hooked.git
            git push -q plain main && git push -q hooked main
            """)
        print("build benchmark: \(pushes) pushes per figure, slipway \(slipway)")

        // 1. A push with the hook against one without.
        func timed(_ script: String) async throws -> Duration {
            let start = ContinuousClock.now
            _ = try await sh(script)
            return ContinuousClock.now - start
        }
        var plain: [Duration] = [], hooked: [Duration] = []
        for n in 0..<pushes {
            _ = try await sh("cd work && echo '# \(n)' >> train.py && git commit -qam 'change \(n)'")
            plain.append(try await timed("cd work && git push -q plain main"))
            hooked.append(try await timed("cd work && git push -q hooked main"))
        }
        let plainStats = Stats(plain), hookedStats = Stats(hooked)
        print(plainStats.line("git push without the hook"))
        print(hookedStats.line("git push with the slipway hook"))
        print(String(format: "%-52@ %+9.1f ms (ratio %.2f)", "the hook adds (median)" as NSString,
                     (hookedStats.median - plainStats.median).micros / 1000, hookedStats.median.micros / plainStats.median.micros))

        // 2. Push to build start with the agent running (its scan interval is long, so only
        //    the hook and the queue's inotify wake it).
        _ = try await sh("'\(slipway)' agent --once >/dev/null")  // builds what the pushes queued; makes the environment
        let agent = ProcessSpec("/bin/sh", ["-c", #"exec "$0" "$@" >/dev/null"#, slipway, "agent", "run", "--interval", "60"], environment: environment)
        let latencies = try await Processes.withChild(agent, errorLog: nil) { _ in
            try await Task.sleep(for: .milliseconds(300))
            return try await latenciesOfPushes(home: home, sh: sh)
        }  // the agent gets SIGTERM here
        print(Stats(latencies).line("push to build start (agent running)"))

        // 3. Rebuilding an unchanged commit: every artifact and the environment are reused.
        var rebuilds: [Duration] = []
        for _ in 0..<5 { rebuilds.append(try await timed("'\(slipway)' build demand >/dev/null")) }
        print(Stats(rebuilds).line("no-change rebuild (`slipway build`, whole process)"))
    }

    /// Pushes `pushes` commits to the hooked repository and measures, for each, the time
    /// from the push to the start of its build by the running agent.
    func latenciesOfPushes(home: String, sh: (String) async throws -> String) async throws -> [Duration] {
        let registry = try Registry(home: home)
        var latencies: [Duration] = []
        for n in 0..<pushes {
            _ = try await sh("cd work && echo '# latency \(n)' >> train.py && git commit -qam 'latency \(n)'")
            let commit = try await sh("cd work && git rev-parse HEAD")
            let pushedAt = Date().timeIntervalSince1970
            _ = try await sh("cd work && git push -q hooked main")
            var started: Double?
            var finished = false
            let deadline = Date().addingTimeInterval(60)
            while !finished && Date() < deadline {
                try await Task.sleep(for: .milliseconds(2))
                for build in try registry.query("builds", partition: "demand", descending: true, limit: 3).items
                where build.attributes["commit"]?.stringValue == commit {
                    started = build.attributes["startedAt"]?.doubleValue
                    finished = build.buildStatus != .running
                }
            }
            guard let started, finished else { throw ValidationError("the agent did not build \(commit)") }
            latencies.append(.microseconds(Int64((started - pushedAt) * 1_000_000)))
        }
        return latencies
    }
}
