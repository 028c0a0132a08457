import ArgumentParser

/// `slipway <noun> <verb>`: the command-line interface of Slipway.
struct Slipway: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "slipway",
        abstract: "A self-hosted, git-native MLOps framework: push a model repository, get a served model.",
        discussion: """
            State lives in $SLIPWAY_HOME (default ~/.slipway). Exit status: 0 success, 1 failure, \
            2 usage error, 3 a condition failed, 4 not found.
            """,
        subcommands: [
            QuickstartCommand.self, ModelCommand.self, RepoCommand.self, HookCommand.self, BuildCommand.self, BuildsCommand.self,
            ArtifactsCommand.self, AgentCommand.self, StatesCommand.self, ExecutionsCommand.self, TasksCommand.self, TrainCommand.self, LogsCommand.self, VersionsCommand.self, ApproveCommand.self,
            RejectCommand.self, DeployCommand.self, RollbackCommand.self, EndpointsCommand.self, RegistryCommand.self, DemoCommand.self,
        ]
    )
}
