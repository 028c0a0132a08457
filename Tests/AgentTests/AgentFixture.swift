import Agent
import ArtifactBuilder
import Foundation
import GitWatcher
import Logging
import Registry

/// A temp folder with a home, a bare model repository registered with the watcher, and a
/// clone to commit and push from, as a data scientist would.
final class AgentFixture {
    let root: String
    var home: String { root + "/home" }
    var bare: String { root + "/model.git" }
    var work: String { root + "/work" }

    /// One environments folder for the whole run: a venv takes seconds.
    static let environments = NSTemporaryDirectory() + "slipway-agent-envs-\(getpid())"

    init() throws {
        var template = Array((NSTemporaryDirectory() + "slipway-agent-XXXXXX").utf8CString)
        root = String(cString: mkdtemp(&template)!)
        try sh("git init -q --bare -b main model.git && git clone -q model.git work 2>/dev/null")
        try WatchedRepository.register(name: "model", path: bare, in: try Registry(home: home))
    }

    deinit { try? FileManager.default.removeItem(atPath: root) }

    /// Scaffolds a model in the clone with the given `deploy:` section and commits it.
    func scaffold(model: String, deploy: String) throws {
        try ModelTemplate.write(to: work, name: model)
        let path = work + "/" + ModelConfig.fileName
        var text = try String(contentsOfFile: path, encoding: .utf8)
        guard let old = text.split(separator: "\n").first(where: { $0.hasPrefix("deploy:") }) else { throw FixtureError(description: "the scaffold has no deploy: line") }
        text = text.replacingOccurrences(of: String(old), with: "deploy: " + deploy)
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        try sh("cd work && git checkout -q -b main && git add . && git commit -q -m 'first model'")
    }

    func push() throws { try sh("cd work && git push -q origin main") }

    /// An agent configuration for this home: any free port, quick scans, the shared environments.
    var configuration: AgentConfiguration {
        var configuration = AgentConfiguration(home: home)
        configuration.environments = Self.environments
        configuration.port = 0
        configuration.scanInterval = .milliseconds(300)
        return configuration
    }

    /// Runs `sh -c` in the root folder; throws with its output when it fails.
    @discardableResult
    func sh(_ script: String) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", script]
        process.currentDirectoryURL = URL(fileURLWithPath: root)
        process.environment = ProcessInfo.processInfo.environment.merging([
            "GIT_AUTHOR_NAME": "Ada", "GIT_AUTHOR_EMAIL": "ada@example.com", "GIT_COMMITTER_NAME": "Ada", "GIT_COMMITTER_EMAIL": "ada@example.com",
        ]) { $1 }
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw FixtureError(description: "`\(script)` failed: \(output)") }
        return output
    }

    /// Every live process (zombies excluded) whose command line names `text`.
    static func processes(naming text: String) -> [String] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap { entry -> String? in
            guard Int32(entry) != nil, let stat = try? String(contentsOfFile: "/proc/\(entry)/stat", encoding: .utf8),
                let close = stat.lastIndex(of: ")") else { return nil }
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            guard fields.first != "Z", let command = try? String(contentsOfFile: "/proc/\(entry)/cmdline", encoding: .utf8),
                command.contains(text) else { return nil }
            return "\(entry) \(command.replacingOccurrences(of: "\0", with: " "))"
        }
    }
}

struct FixtureError: Error, CustomStringConvertible { var description: String }
