import ArtifactBuilder
import Foundation
import Home
import Logging
import Pipelines
import Registry
import Serving
import ServiceLifecycle
import StatesLanguage

/// The daemon that owns a running Slipway home: a swift-service-lifecycle `ServiceGroup`
/// of the endpoint manager, the HTTP server, the execution service, the approval service
/// and the build service. SIGTERM or SIGINT shuts them down in the reverse order: builds
/// stop after the build in progress, running executions are cancelled (their jobs end,
/// their journals stay RUNNING for the next agent), then the server closes and the
/// endpoints' workers are drained. One agent runs per home (`HOME/agent.lock`).
package final class Agent: Sendable {
    /// What it runs with.
    package let configuration: AgentConfiguration
    /// The home's registry.
    package let registry: Registry
    /// Where every service logs (passed in by the executable).
    package let logger: Logger
    /// The build side: the spool, the watcher, the queue, the builder.
    package let builds: BuildAgent
    /// The pipelines' task resources for this home.
    package let training: TrainingResources
    /// Runs state machine executions in this process.
    package let executions: ExecutionService
    /// Turns approvals into deployments.
    package let approvals: ApprovalService
    /// Serves and updates the endpoints.
    package let endpoints: EndpointManager

    /// An agent for the configured home; takes its lock (failing when another agent
    /// holds it, with that agent's pid).
    package init(configuration: AgentConfiguration, registry: Registry, logger: Logger) async throws {
        self.configuration = configuration
        self.logger = logger
        let home = configuration.home
        self.registry = registry
        training = TrainingResources(home: home, registry: registry, logger: logger)
        let builder = try await Builder(home: home, registry: registry, environments: configuration.environments, logger: logger)
        builds = try BuildAgent(home: home, registry: registry, builder: builder, logger: logger)
        let executions = ExecutionService(
            executions: PipelineExecutions(home: home, registry: registry, logger: logger), limit: configuration.concurrentExecutions,
            changes: Changes(interval: configuration.scanInterval, logger: logger), logger: logger)
        self.executions = executions
        approvals = ApprovalService(training: training, executions: executions, changes: Changes(interval: configuration.scanInterval, logger: logger), logger: logger)
        endpoints = try EndpointManager(home: home, registry: registry, logger: logger)
    }

    /// The services in start order (shutdown runs in the reverse order).
    package func services() -> [any Service] {
        var services: [any Service] = [endpoints]
        if configuration.serve {
            services.append(HTTPService(manager: endpoints, host: configuration.host, port: configuration.port, home: configuration.home, logger: logger))
        }
        return services + [executions, approvals, buildService()]
    }

    /// The build service over this agent's builds, trainings and notifications.
    func buildService() -> BuildService {
        BuildService(agent: builds, pipelines: .init(training: training, executions: executions),
                     changes: Changes(interval: configuration.scanInterval, logger: logger), logger: logger)
    }

    /// Runs every service until SIGTERM or SIGINT (or until one of them fails, which
    /// stops the others).
    package func run() async throws {
        logger.info("agent running", metadata: ["home.path": "\(configuration.home)", "process.pid": "\(getpid())"])
        FileLimit.raise(logger: logger)
        sweepScratchFolders()
        var group = ServiceGroupConfiguration(
            services: services().map { .init(service: $0, successTerminationBehavior: .gracefullyShutdownGroup,
                                               failureTerminationBehavior: .gracefullyShutdownGroup) },
            gracefulShutdownSignals: [.sigterm, .sigint], cancellationSignals: [], logger: logger)
        // Past this, what still runs (a long build step, say) is cancelled: the process
        // layer ends its group, so the agent stops within systemd's TimeoutStopSec (30 s).
        group.maximumGracefulShutdownDuration = configuration.shutdownGrace
        try await ServiceGroup(configuration: group).run()
        logger.info("agent stopped")
    }

    /// Removes the scratch folders a killed agent left half made (it holds the home's
    /// lock, so no other process of this home writes them now).
    func sweepScratchFolders() {
        let home = configuration.home
        for (folder, markers) in [(home + "/outputs", [".staging-", ".incomplete-"]), (home + "/models", [".partial-"]),
                                  (home + "/executions", [".new-"])] {
            let swept = DurableFolders.sweep(folder, markers: markers)
            if !swept.isEmpty { logger.info("removed \(swept.count) scratch folders a stopped agent left", metadata: ["folder.path": "\(folder)"]) }
        }
    }

    /// One pass without serving (`slipway agent --once`, cron, tests): builds what is
    /// pending and runs the trainings they start, and every unclaimed execution, to their
    /// end. Approval events are left for a serving agent, which deploys them.
    package func runOnce() async throws -> (builds: Int, executions: [ExecutionOutcome]) {
        let build = buildService()
        try builds.markInterruptedBuilds()
        for problem in builds.collect() { logger.warning("\(problem)") }
        var count = 0
        while let (request, id) = try builds.next() {
            await build.finished(try await builds.builder.build(request, requestID: id))
            count += 1
        }
        executions.claimUnclaimed()
        return (count, await executions.runQueued())
    }
}

/// What the agent runs with: the home, where environments are kept, the address it
/// serves on, how often it scans, and how many executions run at once.
package struct AgentConfiguration: Sendable {
    /// `SLIPWAY_HOME`.
    package var home: String
    /// A shared folder of Python environments (`SLIPWAY_ENVIRONMENTS`), else `HOME/envs`.
    package var environments: String?
    /// The address endpoints are served on.
    package var host = "127.0.0.1"
    /// 0 picks a free port (written to `HOME/serving.json`).
    package var port = 8080
    /// Whether to serve endpoints over HTTP.
    package var serve = true
    /// The longest wait between two scans when inotify reports nothing.
    package var scanInterval: Duration = .seconds(2)
    /// How many executions run jobs at once (`agent.json`'s `executions`); waiting ones hold no slot.
    package var concurrentExecutions = 2
    /// How long a graceful shutdown may take before what still runs is cancelled.
    package var shutdownGrace: Duration = .seconds(20)

    /// The configuration for `home`, from `HOME/agent.json` where it says something.
    package init(home: String, settings: AgentSettings = AgentSettings()) {
        self.home = home
        host = settings.host
        port = settings.port
        concurrentExecutions = settings.executions
    }
}
