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
    /// moving its cursor), then deletes it. A push naming a repository that is not
    /// registered (`slipway repo add`, `slipway hook install`) is refused: renamed
    /// `.refused`, reported through `problem` with its path, never built, so a file
    /// dropped in the spool cannot make the agent build any repository on the machine.
    /// A file that cannot be handled is renamed `.failed` and reported, so it never
    /// blocks the others. Returns the requests queued.
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
            } catch let refusal as UnknownRepository {
                problem("spooled push '\(path)' refused: \(refusal); kept as '\(name).refused', not built")
                moveAside(path, to: path + ".refused", problem: problem)
            } catch {
                problem("spooled push '\(path)' could not be handled (\(error)); kept as '\(name).failed'")
                moveAside(path, to: path + ".failed", problem: problem)
            }
        }
        if !names.isEmpty {
            // Makes the removals durable, so a power cut cannot bring a handled push back.
            do { try FileIO.syncDirectory(folder) } catch { problem("\(error); a power cut may bring handled pushes back") }
        }
        return queued
    }

    /// Renames a spooled push that is not built, so that it is not read again.
    private func moveAside(_ path: String, to target: String, problem: (String) -> Void) {
        do {
            if FileManager.default.fileExists(atPath: target) { try FileManager.default.removeItem(atPath: target) }
            try FileManager.default.moveItem(atPath: path, toPath: target)
        } catch {
            problem("spooled push '\(path)' could not be moved aside to '\(target)': \(error)")
        }
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
        guard let repository = try WatchedRepository.at(path: repositoryPath, in: registry) else {
            throw UnknownRepository(path: repositoryPath)
        }
        return try PostReceiveHook.handle(
            input: lines.joined(separator: "\n"), repository: repository, queue: BuildQueue(registry: registry)
        ) { branch, commit in shouldBuild(repository.path, branch, commit) }
    }
}

/// A spooled push naming a repository that is not registered.
package struct UnknownRepository: Error, Sendable, CustomStringConvertible {
    /// The path the spooled push names.
    package var path: String

    /// What is wrong and what to do.
    package var description: String {
        "the repository '\(path)' is not registered; register it with `slipway repo add NAME '\(path)'` or `slipway hook install '\(path)'`, then push again"
    }
}
