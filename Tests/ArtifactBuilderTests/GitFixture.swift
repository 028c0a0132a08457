import Logging
import ArtifactBuilder
import Foundation
import GitWatcher
import Home
import LogCapture
import Registry

/// Real git repositories in a temp folder: a bare "server" repository and clones that
/// commit and push, as a data scientist would.
final class GitFixture {
    let root: String
    var home: String { root + "/home" }
    var bare: String { root + "/server/model.git" }

    init() async throws {
        var template = Array((NSTemporaryDirectory() + "slipway-git-XXXXXX").utf8CString)
        root = String(cString: mkdtemp(&template)!)
        try FileManager.default.createDirectory(atPath: root + "/server", withIntermediateDirectories: true)
        try await git(["init", "-q", "--bare", "-b", "main", bare], in: root)
    }

    deinit { try? FileManager.default.removeItem(atPath: root) }

    /// One environments folder for the whole test run: making a venv takes seconds.
    static let sharedEnvironments = NSTemporaryDirectory() + "slipway-test-envs-\(getpid())"

    static let identity = [
        "GIT_AUTHOR_NAME": "Ada Scientist", "GIT_AUTHOR_EMAIL": "ada@example.com",
        "GIT_COMMITTER_NAME": "Ada Scientist", "GIT_COMMITTER_EMAIL": "ada@example.com",
    ]

    /// Runs git; throws with its output when it fails.
    @discardableResult
    func git(_ arguments: [String], in directory: String) async throws -> String {
        let environment = ProcessSpec.inheritedEnvironment.merging(Self.identity) { $1 }
        let result = try await Processes.run(ProcessSpec("/usr/bin/git", arguments, environment: environment, workingDirectory: directory))
        guard result.succeeded else { throw BuildFailure("git \(arguments.joined(separator: " ")) failed: \(result.output)") }
        return result.output.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// A clone of the server repository named `name`, holding the scaffolded model (first
    /// clone) or the server's main branch.
    func clone(_ name: String, model: String = "demand") async throws -> String {
        let path = root + "/" + name
        try await git(["clone", "-q", bare, path], in: root)
        if (try? await git(["rev-parse", "--verify", "HEAD"], in: path)) == nil {
            try ModelTemplate.write(to: path, name: model)
            try await git(["checkout", "-q", "-b", "main"], in: path)
            try await git(["add", "."], in: path)
            try await git(["commit", "-q", "-m", "first model"], in: path)
        }
        return path
    }

    /// Appends to a file, commits and returns the new commit id.
    @discardableResult
    func change(_ clone: String, _ file: String, append text: String, message: String) async throws -> String {
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: clone + "/" + file))
        handle.seekToEndOfFile()
        handle.write(Data(text.utf8))
        try handle.close()
        try await git(["commit", "-q", "-am", message], in: clone)
        return try await git(["rev-parse", "HEAD"], in: clone)
    }

    /// Replaces a file, commits and returns the new commit id.
    @discardableResult
    func write(_ clone: String, _ file: String, _ text: String, message: String) async throws -> String {
        try Data(text.utf8).write(to: URL(fileURLWithPath: clone + "/" + file))
        try await git(["add", file], in: clone)
        try await git(["commit", "-q", "-m", message], in: clone)
        return try await git(["rev-parse", "HEAD"], in: clone)
    }

    func push(_ clone: String, _ refspec: String = "main") async throws {
        try await git(["push", "-q", "origin", refspec], in: clone)
    }

    /// The registry, the builder and an agent for this fixture's home, with the bare
    /// repository registered under the name "demand"; both log to `log`.
    func agent(log: LogLines = LogLines()) async throws -> (Registry, BuildAgent) {
        let registry = try Registry(home: home)
        try WatchedRepository.register(name: "demand", path: bare, in: registry)
        let builder = try await Builder(home: home, registry: registry, environments: Self.sharedEnvironments, logger: log.logger)
        return (registry, try BuildAgent(home: home, registry: registry, builder: builder, logger: log.logger))
    }
}
