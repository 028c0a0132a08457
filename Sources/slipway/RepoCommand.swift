import ArgumentParser
import ArtifactBuilder
import Foundation
import GitWatcher
import Registry

/// `slipway repo add|list`.
struct RepoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "repo", abstract: "Register model repositories for the watcher.", subcommands: [Add.self, List.self])

    struct Add: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Watch a repository (bare or not); the agent builds its pushes.")
        @Argument(help: "A name for the repository.") var name: String
        @Argument(help: "Its path; with --mirror, the URL of the remote to mirror.") var path: String
        @Flag(help: "Keep a bare mirror of a remote repository in the home and fetch it every --interval.") var mirror = false
        @Option(help: "Seconds between fetches of a mirror.") var interval: Double = 60
        @OptionGroup var home: HomeOption

        func run() throws {
            let registry = try home.registry()
            if mirror {
                let local = home.absolutePath + "/mirrors/" + name + ".git"
                if !FileManager.default.fileExists(atPath: local) {
                    try FileManager.default.createDirectory(atPath: home.absolutePath + "/mirrors", withIntermediateDirectories: true)
                    _ = try GitRepository.createMirror(at: local, of: path)
                }
                let repository = try WatchedRepository.register(name: name, path: local, mirrorURL: path, fetchInterval: interval, in: registry)
                print("mirroring \(path) into \(repository.path) (fetched every \(Int(interval)) s); watching '\(name)'")
                return
            }
            let repository = try WatchedRepository.register(name: name, path: path, in: registry)
            print("watching '\(repository.name)' at \(repository.path)")
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the watched repositories.")
        @Flag(help: "Print a JSON array.") var json = false
        @OptionGroup var home: HomeOption

        func run() throws {
            let repositories = try WatchedRepository.all(in: try home.registry())
            if json {
                print(JSONValue.array(repositories.map { r in
                    ["name": .string(r.name), "path": .string(r.path), "model": r.model.map(JSONValue.string) ?? .null]
                }).serialized())
            } else {
                for r in repositories { print("\(r.name)\t\(r.path)\t\(r.model ?? "-")") }
            }
        }
    }
}

/// `slipway hook install|post-receive`.
struct HookCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hook", abstract: "The git post-receive hook that spools pushes for the agent.", subcommands: [Install.self])

    struct Install: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Install the post-receive hook in a repository and watch it (an existing hook keeps running).")
        @Argument(help: "The repository (usually bare).") var repository: String
        @Option(help: "The name to register it under (default: its folder name).") var name: String?
        @OptionGroup var home: HomeOption

        func run() throws {
            let registry = try home.registry()
            let registered = try WatchedRepository.register(
                name: name ?? WatchedRepository.defaultName(for: repository), path: repository, in: registry)
            let hook = try PostReceiveHook.install(repositoryPath: registered.path, executable: executablePath(), home: home.absolutePath)
            print("installed \(hook) (home \(home.absolutePath)); watching '\(registered.name)'")
        }
    }
}
