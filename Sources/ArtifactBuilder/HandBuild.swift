import Foundation
import GitWatcher
import Logging
import Registry

/// `slipway build MODEL [--commit REV]`: a build asked for by a person. It builds here,
/// holding the home's agent lock, unless an agent runs: then the request is queued for
/// the agent, which builds it next. While it builds here the request is queued too, so a
/// crash half way leaves it for the next agent rather than losing it.
package struct HandBuild: Sendable {
    /// What became of the request.
    package enum Outcome: Sendable {
        /// Built here (or answered by an earlier build).
        case built(BuildOutcome)
        /// Queued for the running agent, which says why it could not build here.
        case queued(commit: String, reason: String)
    }

    /// No repository is registered for the model.
    package struct UnknownModel: Error, Sendable, CustomStringConvertible {
        /// The model asked for.
        package var model: String
        /// The models (or repository names) that are known.
        package var known: [String]
        /// What to tell a person, with the way out.
        package var description: String {
            "no repository for model '\(model)'; known: \(known.joined(separator: ", ")). Register one with `slipway repo add NAME PATH`"
        }
    }

    /// The home.
    package var home: String
    /// Its registry.
    package var registry: Registry
    /// The Python environments folder (nil: `HOME/envs`).
    package var environments: String?

    /// A hand build in `home`.
    package init(home: String, registry: Registry, environments: String?) {
        self.home = home
        self.registry = registry
        self.environments = environments
    }

    /// Builds `commit` (a sha, branch or tag; nil: the default branch) of `model`'s
    /// repository (found by model or by the repository's registered name). `progress`
    /// gets the steps; `logger` what goes wrong on the way.
    package func run(model: String, commit: String?, progress: Logger, logger: Logger) async throws -> Outcome {
        let (found, known) = try WatchedRepository.forModel(model, in: registry)
        guard let repository = found else { throw UnknownModel(model: model, known: known) }
        let git = try GitRepository(path: repository.path)
        let branch = commit == nil ? try git.effectiveDefaultBranch() : nil
        let sha = try git.resolveCommit(commit ?? branch ?? "HEAD")
        let request = BuildRequest(repositoryName: repository.name, repositoryPath: repository.path, branch: branch,
                                   commit: sha.hex, requestedBy: "manual", requestedAt: Date().timeIntervalSince1970)
        let queue = BuildQueue(registry: registry)
        let builder = try await Builder(home: home, registry: registry, environments: environments, logger: progress)
        let agent: BuildAgent
        do {
            agent = try BuildAgent(home: home, registry: registry, builder: builder, logger: logger)
        } catch let failure as BuildFailure {
            try queue.enqueue(request)
            return .queued(commit: sha.hex, reason: failure.message)
        }
        defer { withExtendedLifetime(agent) {} }  // the agent lock, held while it builds
        // Queued while it builds, so that a crash leaves it for the next agent.
        let id = try queue.enqueue(request)
        let outcome = try await builder.build(request)
        try queue.remove(id)
        return .built(outcome)
    }
}
