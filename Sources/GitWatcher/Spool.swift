import Foundation
import Registry

/// Pushes the post-receive hook spooled (`HOME/spool/*.push`: a `repository PATH` line,
/// then git's `OLD NEW REF` lines), waiting for the agent to turn them into build requests.
package struct Spool: Sendable {
    /// The spool's folder name inside the home.
    package static let folderName = "spool"

    package let folder: String

    package init(home: String) { folder = home + "/" + Self.folderName }

    /// Turns every spooled push into build requests (one per updated branch that builds,
    /// moving its cursor), then deletes it. A push whose repository is not registered
    /// registers it under its folder name. Returns the requests queued.
    package func drain(
        registry: Registry, shouldBuild: (_ repositoryPath: String, _ branch: String, _ commit: String) -> Bool
    ) throws -> [BuildRequest] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []
        var queued: [BuildRequest] = []
        for name in names.sorted() where name.hasSuffix(".push") {
            let path = folder + "/" + name
            guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { continue }
            var lines = text.split(separator: "\n", omittingEmptySubsequences: true)
            guard let first = lines.first, first.hasPrefix("repository ") else {
                try? FileManager.default.moveItem(atPath: path, toPath: path + ".invalid")
                continue
            }
            lines.removeFirst()
            let repositoryPath = String(first.dropFirst("repository ".count))
            let repository = try WatchedRepository.at(path: repositoryPath, in: registry)
                ?? WatchedRepository.register(name: WatchedRepository.defaultName(for: repositoryPath), path: repositoryPath, in: registry)
            queued += try PostReceiveHook.handle(
                input: lines.joined(separator: "\n"), repository: repository, queue: BuildQueue(registry: registry)
            ) { branch, commit in shouldBuild(repository.path, branch, commit) }
            try FileManager.default.removeItem(atPath: path)
        }
        return queued
    }
}
