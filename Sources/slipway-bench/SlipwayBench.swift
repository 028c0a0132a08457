import ArgumentParser

/// Benchmarks that print figures. `swift run -c release slipway-bench registry`.
@main
struct SlipwayBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "slipway-bench",
        abstract: "Benchmarks of Slipway's parts; each prints its figures.",
        subcommands: [RegistryBench.self, RegistryWriter.self, BuildsBench.self, StatesBench.self, ConfigFuzz.self]
    )
}
