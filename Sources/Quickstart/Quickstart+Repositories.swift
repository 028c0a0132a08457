import Foundation
import GitWatcher
import Home

extension Quickstart {
    /// Where the bare repository of fixture `repository` lives: `HOME/repos/NAME.git`.
    package func bareRepository(_ repository: String) -> String { "\(home)/repos/\(repository).git" }
    /// Where its clone lives: `HOME/work/NAME`.
    package func workingCopy(_ repository: String) -> String { "\(home)/work/\(repository)" }

    /// Creates the bare repository of fixture `repository` with Slipway's post-receive hook
    /// (registered for the watcher), clones it, copies the fixture in, commits and pushes:
    /// the hook spools the push for the agent. A bare repository that exists already is
    /// left as it is.
    package func pushFixture(_ repository: String, progress: (QuickstartEvent) -> Void) async throws {
        let bare = bareRepository(repository), work = workingCopy(repository)
        guard !FileManager.default.fileExists(atPath: bare) else {
            progress(.repositoryExists(bare: bare))
            return
        }
        progress(.creatingRepository(bare: bare, work: work))
        try FileManager.default.createDirectory(atPath: home + "/repos", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: home + "/work", withIntermediateDirectories: true)
        try await git(["init", "-q", "--bare", "-b", "main", bare])
        let registered = try WatchedRepository.register(name: WatchedRepository.defaultName(for: bare), path: bare, in: registry)
        _ = try PostReceiveHook.install(repositoryPath: registered.path, executable: executable, home: home)
        try await git(["clone", "-q", bare, work])
        try copyContents(of: fixtures + "/" + repository, into: work)
        try await git(["-C", work, "symbolic-ref", "HEAD", "refs/heads/main"])
        try await git(["-C", work, "add", "."])
        try await git(["-C", work, "-c", "user.name=Quickstart", "-c", "user.email=quickstart@localhost", "commit", "-q", "-m", "the \(repository) repository"])
        try await git(["-C", work, "push", "-q", "origin", "main"])
    }

    /// Copies every entry of `source` (hidden ones too) into the folder `target`.
    private func copyContents(of source: String, into target: String) throws {
        let files = FileManager.default
        guard let entries = try? files.contentsOfDirectory(atPath: source) else {
            throw QuickstartError("cannot read the fixture folder '\(source)'", hint: "pass the price-optimiser fixtures with --fixtures DIR")
        }
        for entry in entries.sorted() where entry != ".git" {
            try files.copyItem(atPath: source + "/" + entry, toPath: target + "/" + entry)
        }
    }

    /// Runs `git ARGUMENTS` with this process's environment; fails with its output.
    private func git(_ arguments: [String]) async throws {
        guard let git = Processes.which("git") else {
            throw QuickstartError("cannot find 'git' on PATH", hint: "install git (scripts/install-deps does)")
        }
        let spec = ProcessSpec(git, arguments, environment: ProcessSpec.inheritedEnvironment)
        let result = try await Processes.run(spec, timeout: .seconds(300))
        guard result.succeeded else {
            throw QuickstartError("this step failed: \(spec.commandLine)\n\(result.output)", hint: "fix what git says, or remove \(home) and start again")
        }
    }

    /// Starts `slipway agent` in a session of its own (it outlives the quickstart), logging
    /// to `HOME/agent.log`.
    func startAgent() async throws {
        let command = ProcessSpec(executable, ["agent", "--port", String(port), "--home", home], environment: ProcessSpec.inheritedEnvironment)
        do {
            _ = try await Processes.startDetached(command, log: home + "/agent.log")
        } catch {
            throw QuickstartError("cannot start the agent: \(error)", hint: "run `\(command.commandLine)` to see why")
        }
    }
}
