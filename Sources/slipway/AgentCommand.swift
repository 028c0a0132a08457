import Agent
import ArgumentParser
import Foundation
import Home
import Logging
import Pipelines

/// `slipway agent [--once]` and `slipway agent install-service`.
struct AgentCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "agent",
        abstract: "Run the agent: build what the hook queued and what the watcher notices, train, deploy, serve endpoints, until SIGTERM.",
        subcommands: [Run.self, InstallService.self], defaultSubcommand: Run.self)

    struct Run: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "run", abstract: "Run the agent (the default): build, train, deploy on approval, and serve endpoints over HTTP.")
        @Flag(help: "Build what is pending and run the executions waiting, then exit (for tests and cron); serves nothing.") var once = false
        @Option(help: "Seconds between scans of the watched repositories when inotify reports nothing.") var interval: Double = 2
        @Option(help: "The port endpoints are served on (default: agent.json's, else 8080; 0 picks a free one).") var port: Int?
        @Option(help: "The address endpoints are served on (default: agent.json's, else 127.0.0.1).") var host: String?
        @Option(help: "The lowest level logged: trace, debug, info, notice, warning, error, critical.") var logLevel: Logger.Level = .info
        @Option(help: "text (one line per event with key=value metadata) or json (one object per line).") var logFormat: LineLogHandler.Format = .text
        @OptionGroup var home: HomeOption

        func run() async throws {
            let settings: AgentSettings
            do { settings = try AgentSettings.load(home: home.absolutePath) } catch {
                throw CommandFailure(message: error.description, status: ExitStatus.usage)
            }
            guard interval > 0, interval <= 3600 else {
                throw CommandFailure(message: "--interval '\(interval)' must be between 0 and 3600 seconds", status: ExitStatus.usage)
            }
            var configuration = AgentConfiguration(home: home.absolutePath, settings: settings)
            configuration.environments = home.environments
            configuration.host = host ?? settings.host
            configuration.port = port ?? settings.port
            configuration.scanInterval = .milliseconds(Int(interval * 1000))
            configuration.serve = !once
            let (level, format) = (logLevel, logFormat)
            let logger = Logger(label: "slipway.agent") { LineLogHandler(label: $0, level: level, format: format) }
            let agent: Agent
            do {
                agent = try await Agent(configuration: configuration, registry: try home.registry(), logger: logger)
            } catch {
                throw CommandFailure(message: "\(error)", status: ExitStatus.failure)
            }
            guard once else { return try await agent.run() }
            let (builds, outcomes) = try await agent.runOnce()
            logger.info("done", metadata: ["builds": "\(builds)", "executions": "\(outcomes.count)"])
        }
    }

    struct InstallService: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "install-service", abstract: "Write a systemd unit that runs the agent (restart on failure, logs to the journal).")
        @Option(help: "The user the agent runs as.") var user = LocalUser.name
        @Option(help: "Where to write the unit.") var unitDirectory = "/etc/systemd/system"
        @Option(help: "The unit's name.") var unitName = "slipway-agent.service"
        @OptionGroup var home: HomeOption

        func run() throws {
            let unit = ServiceUnit.render(executable: executablePath(), home: home.absolutePath, user: user)
            try FileManager.default.createDirectory(atPath: unitDirectory, withIntermediateDirectories: true)
            let path = unitDirectory + "/" + unitName
            try Data(unit.utf8).write(to: URL(fileURLWithPath: path), options: .atomic)
            print("wrote \(path)\nnext: systemctl daemon-reload && systemctl enable --now \(unitName)\nlogs: journalctl -u \(unitName) -f")
        }
    }
}

extension Logger.Level: @retroactive ExpressibleByArgument {}
extension LineLogHandler.Format: ExpressibleByArgument {}
