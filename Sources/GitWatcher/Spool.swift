import Foundation
import Home
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
    /// registers it. A file that cannot be handled is renamed `.failed` and reported
    /// through `problem`, so it never blocks the others. Returns the requests queued.
    package func drain(
        registry: Registry, shouldBuild: (_ repositoryPath: String, _ branch: String, _ commit: String) -> Bool,
        problem: (String) -> Void = { _ in }
    ) throws -> [BuildRequest] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []
        var queued: [BuildRequest] = []
        for name in names.sorted() where name.hasSuffix(".push") {
            let path = folder + "/" + name
            do {
                queued += try handle(path, registry: registry, shouldBuild: shouldBuild)
                try FileManager.default.removeItem(atPath: path)
            } catch {
                problem("spooled push '\(path)' could not be handled (\(error)); kept as '\(name).failed'")
                try? FileManager.default.moveItem(atPath: path, toPath: path + ".failed")
            }
        }
        if !names.isEmpty {
            // Makes the removals durable, so a power cut cannot bring a handled push back.
            do { try FileIO.syncDirectory(folder) } catch { problem("\(error); a power cut may bring handled pushes back") }
        }
        return queued
    }

    private func handle(
        _ path: String, registry: Registry, shouldBuild: (_ repositoryPath: String, _ branch: String, _ commit: String) -> Bool
    ) throws -> [BuildRequest] {
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        guard let text = String(data: data, encoding: .utf8) else { throw BuildQueueError("not UTF-8 text") }
        var lines = text.split(separator: "\n", omittingEmptySubsequences: true)
        guard let first = lines.first, first.hasPrefix("repository ") else { throw BuildQueueError("no 'repository PATH' first line") }
        lines.removeFirst()
        let repositoryPath = String(first.dropFirst("repository ".count))
        let repository = try WatchedRepository.at(path: repositoryPath, in: registry)
            ?? WatchedRepository.registerNew(path: repositoryPath, in: registry)
        return try PostReceiveHook.handle(
            input: lines.joined(separator: "\n"), repository: repository, queue: BuildQueue(registry: registry)
        ) { branch, commit in shouldBuild(repository.path, branch, commit) }
    }
}
