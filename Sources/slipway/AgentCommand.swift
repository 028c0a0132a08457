import ArgumentParser
import ArtifactBuilder
import Foundation
import Logging
import Pipelines
import Serving
import Synchronization

/// Set by SIGTERM and SIGINT; the agent stops after the build in progress.
let stopRequested = Atomic<Bool>(false)

/// `slipway agent [--once]` and `slipway agent install-service`.
struct AgentCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "agent",
        abstract: "Run the agent: build what the hook queued and what the watcher notices, train, deploy, serve endpoints, until SIGTERM.",
        subcommands: [Run.self, InstallService.self], defaultSubcommand: Run.self)

    struct Run: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "run", abstract: "Run the agent (the default): build, train, deploy on approval, and serve endpoints over HTTP.")
        @Flag(help: "Process what is pending, then exit (for tests and cron); serves nothing.") var once = false
        @Option(help: "Seconds between scans of the watched repositories.") var interval: Double = 2
        @Option(help: "The port endpoints are served on (default: agent.json's, else 8080; 0 picks a free one).") var port: Int?
        @Option(help: "The address endpoints are served on (default: agent.json's, else 127.0.0.1).") var host: String?
        @OptionGroup var home: HomeOption

        func run() async throws {
            let registry = try home.registry()
            let settings: AgentSettings
            do { settings = try AgentSettings.load(home: home.absolutePath) } catch {
                throw CommandFailure(message: error.description, status: ExitStatus.usage)
            }
            let log: @Sendable (String) -> Void = { line in
                let stamp = ISO8601DateFormatter().string(from: Date())
                FileHandle.standardOutput.write(Data("\(stamp) \(line)\n".utf8))
            }
            let training = AutoTraining()
            let builder = try await Builder(home: home.absolutePath, registry: registry, environments: home.environments, listener: training) { event in
                log(event.description)
            }
            let resources = TrainingResources(home: home.absolutePath, registry: registry)
            let agent: BuildAgent
            do {
                agent = try BuildAgent(home: home.absolutePath, registry: registry, builder: builder, log: log)
            } catch let failure as BuildFailure {
                throw CommandFailure(message: failure.description, status: ExitStatus.failure)
            }
            let approvals = ApprovalEvents(resources: resources)
            let home = self.home
            /// Approved versions whose config says `deploy.on_approval` deploy in the background.
            @Sendable func deployApproved() {
                for (model, version) in approvals.take() {
                    if let (_, stored) = try? Deployments(home: home.absolutePath, registry: registry).create(model: model, version: version) {
                        try? ExecutionsCommand.runInBackground(stored, home: home)
                        log("deploying \(model) version \(version) (deploy.on_approval): started \(stored.name)")
                    }
                }
            }
            if once {
                let builds = try await agent.runOnce()
                await training.notify(resources: resources)
                // --once finishes the training executions its builds start before it exits.
                for model in training.take(resources: resources) {
                    let outcome = try await TrainCommand.trainNow(model: model, home: home, resources: resources)
                    log("training \(model): \(outcome.status)\(outcome.output.map { " \($0.serialized())" } ?? "")\(outcome.error.map { " \($0)" } ?? "")")
                }
                deployApproved()
                log("done: \(builds.count) build\(builds.count == 1 ? "" : "s")")
                return
            }
            // A launcher may have blocked these (Foundation's Process does, from some threads).
            var signals = sigset_t()
            sigemptyset(&signals)
            for signalNumber in [SIGTERM, SIGINT] {
                sigaddset(&signals, signalNumber)
                signal(signalNumber) { _ in stopRequested.store(true, ordering: .relaxed) }
            }
            sigprocmask(SIG_UNBLOCK, &signals, nil)

            let logger = Logger(label: "slipway.agent", factory: StreamLogHandler.standardOutput(label:))
            let manager = try EndpointManager(home: home.absolutePath, registry: registry, logger: logger)
            let serving = Task { try? await manager.run() }
            let address = (host: host ?? settings.host, port: port ?? settings.port)
            let server = Task {
                do {
                    var httpLogger = logger
                    httpLogger.logLevel = .critical
                    try await EndpointServer(manager: manager, host: address.host, port: address.port, logger: httpLogger) { port in
                        try? ServingMarker.write(home: home.absolutePath, host: address.host, port: port)
                        log("serving endpoints on http://\(address.host):\(port)")
                    }.run()
                } catch {
                    log("cannot serve endpoints on \(address.host):\(address.port): \(error); stopping")
                    stopRequested.store(true, ordering: .relaxed)
                }
            }
            log("agent running for \(home.absolutePath) (pid \(getpid()))")
            // The build loop awaits its builds: it holds no thread while commands run.
            try await agent.run(interval: interval) {
                // Builds that succeeded start their training in the background.
                for model in training.take(resources: resources) {
                    if let name = try? TrainCommand.startInBackground(model: model, home: home) { log("training \(model): started \(name)") }
                }
                Task { await training.notify(resources: resources) }
                deployApproved()
                return stopRequested.load(ordering: .relaxed)
            }
            server.cancel()
            serving.cancel()
            await serving.value
            ServingMarker.remove(home: home.absolutePath)
            log("agent stopped")
        }
    }

    struct InstallService: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "install-service", abstract: "Write a systemd unit that runs the agent (restart on failure, logs to the journal).")
        @Option(help: "The user the agent runs as.") var user = ProcessInfo.processInfo.environment["USER"] ?? "root"
        @Option(help: "Where to write the unit.") var unitDirectory = "/etc/systemd/system"
        @Option(help: "The unit's name.") var unitName = "slipway-agent.service"
        @OptionGroup var home: HomeOption

        func run() throws {
            let executable = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
            let unit = ServiceUnit.render(executable: executable, home: home.absolutePath, user: user)
            try FileManager.default.createDirectory(atPath: unitDirectory, withIntermediateDirectories: true)
            let path = unitDirectory + "/" + unitName
            try Data(unit.utf8).write(to: URL(fileURLWithPath: path), options: .atomic)
            print("wrote \(path)\nnext: systemctl daemon-reload && systemctl enable --now \(unitName)\nlogs: journalctl -u \(unitName) -f")
        }
    }
}

/// Hands a value that is used by one thread at a time to another thread.
final class UncheckedBox<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}

/// The systemd unit for the agent; `hooks/slipway-agent.service` is the same template.
enum ServiceUnit {
    static func render(executable: String, home: String, user: String) -> String {
        """
        [Unit]
        Description=Slipway agent: builds, trains and serves pushed model repositories
        After=network.target

        [Service]
        Type=simple
        User=\(user)
        Environment=SLIPWAY_HOME=\(home)
        ExecStart=\(executable) agent run --home \(home)
        Restart=on-failure
        RestartSec=2
        KillSignal=SIGTERM
        TimeoutStopSec=30
        StandardOutput=journal
        StandardError=journal

        [Install]
        WantedBy=multi-user.target

        """
    }
}
