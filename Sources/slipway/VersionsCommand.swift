import ArgumentParser
import Foundation
import Home
import Pipelines
import Registry

/// `slipway versions list|show`, `slipway approve`, `slipway reject`.
struct VersionsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "versions", abstract: "Model versions and their approval status.", subcommands: [List.self, Show.self])

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "A model's versions, oldest first.")
        @Argument(help: "The model.") var model: String
        @Flag(help: "Print a JSON array of versions (version, status, metrics, lineage).") var json = false
        @OptionGroup var home: HomeOption

        func run() throws {
            let read = try ModelVersions(registry: home.registry()).read(model)
            let versions = read.items.map(\.attributes)
            if json {
                print(JSONValue.array(versions.map { .object($0) }).serialized())
            } else {
                if versions.isEmpty && read.problems.isEmpty { print("no versions of '\(model)' yet") }
                for v in versions {
                    print("\(v["version"]?.intValue ?? 0)\t\(v["status"]?.stringValue ?? "?")\t\(v["metrics"]?.serialized() ?? "{}")")
                }
            }
            try failOnCorruptFiles(read.problems)
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "One version: status, metrics and lineage.")
        @Argument(help: "The model.") var model: String
        @Argument(help: "The version number.") var version: Int
        @Flag(help: "Print as JSON.") var json = false
        @OptionGroup var home: HomeOption

        func run() throws {
            guard let attributes = try ModelVersions(registry: home.registry()).get(model, version) else {
                throw CommandFailure.notFound("model '\(model)' has no version \(version); see `slipway versions list \(model)`")
            }
            print(json ? JSONValue.object(attributes).serialized() : JSONValue.object(attributes).serialized(pretty: true))
        }
    }
}

/// Shared by approve and reject: the decision is recorded as `approver`'s, by default the
/// local user from the system's user database (never `$USER`, which anyone can set).
func decide(_ model: String, _ version: Int, _ status: ModelVersions.Status, note: String?, home: HomeOption,
            approver: String = LocalUser.name) throws {
    do {
        try ModelVersions(registry: home.registry()).decide(model, version, status, note: note, by: approver)
        print("version \(version) of '\(model)' is \(status.rawValue)")
    } catch let error as VersionError {
        switch error {
        case .notFound: throw CommandFailure.notFound(error.description)
        case .alreadyDecided: throw CommandFailure(message: error.description, status: ExitStatus.conditionFailed)
        }
    }
}

/// `slipway approve MODEL VERSION [--note TEXT]`.
struct ApproveCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "approve", abstract: "Approve a version awaiting approval.")
    @Argument(help: "The model.") var model: String
    @Argument(help: "The version number.") var version: Int
    @Option(help: "Why (kept with the version).") var note: String?
    @OptionGroup var home: HomeOption

    func run() throws { try decide(model, version, .approved, note: note, home: home) }
}

/// `slipway reject MODEL VERSION --reason TEXT`.
struct RejectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "reject", abstract: "Reject a version awaiting approval.")
    @Argument(help: "The model.") var model: String
    @Argument(help: "The version number.") var version: Int
    @Option(help: "Why (required, kept with the version).") var reason: String
    @OptionGroup var home: HomeOption

    func run() throws { try decide(model, version, .rejected, note: reason, home: home) }
}
