import ArgumentParser
import ArtifactBuilder
import Foundation
import Logging
import GitWatcher
import Registry

/// `slipway build MODEL [--commit REV]`.
struct BuildCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "build", abstract: "Build a model's repository by hand (now, or by the running agent).")
    @Argument(help: "The model (or the repository's registered name).") var model: String
    @Option(help: "The commit or branch to build (default: the default branch).") var commit: String?
    @Flag(help: "Print the build record as JSON.") var json = false
    @OptionGroup var home: HomeOption

    func run() async throws {
        // Progress on standard output (what the steps printed too), none with --json.
        let progress = json ? Logger(label: "slipway.cli") { _ in SwiftLogNoOpLogHandler() } : CLILog.progress(level: .debug)
        let outcome: HandBuild.Outcome
        do {
            outcome = try await HandBuild(home: home.absolutePath, registry: try home.registry(), environments: home.environments)
                .run(model: model, commit: commit, progress: progress, logger: CLILog.warnings)
        } catch let unknown as HandBuild.UnknownModel {
            throw CommandFailure.notFound(unknown.description)
        }
        switch outcome {
        case .queued(let sha, let reason): print("queued \(sha.prefix(7)) of '\(model)': \(reason), which will build it")
        case .built(let built): try BuildsCommand.report(built.record, json: json)
        }
    }
}

/// `slipway builds list|show`.
struct BuildsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "builds", abstract: "Read build records.", subcommands: [List.self, Show.self])

    /// Prints a build record; exit 1 when the build failed.
    static func report(_ record: Item, json: Bool) throws {
        if json {
            print(JSONValue.object(record.attributes).serialized())
        } else {
            print(summary(record.attributes))
        }
        if record.buildStatus == .failed {
            throw CommandFailure(message: "build \(record.attributes["id"]?.stringValue ?? "") failed: \(record.attributes["error"]?.stringValue ?? "")", status: ExitStatus.failure)
        }
    }

    static func summary(_ build: [String: JSONValue]) -> String {
        let commit = build["commit"]?.stringValue.map { String($0.prefix(7)) } ?? "-"
        let message = build["message"]?.stringValue ?? ""
        return "\(build["id"]?.stringValue ?? "?")\t\(build["status"]?.stringValue ?? "?")\t\(build["branch"]?.stringValue ?? "-")\t\(commit)\t\(message)"
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "A model's builds, newest first.")
        @Argument(help: "The model.") var model: String
        @Option(help: "At most this many.") var limit = 20
        @Flag(help: "Print a JSON array of build records.") var json = false
        @OptionGroup var home: HomeOption

        func run() throws {
            let read = try home.registry().query(BuildTables.builds, partition: model, descending: true, limit: limit)
            let builds = read.items
            if json {
                print(JSONValue.array(builds.map { .object($0.attributes) }).serialized())
            } else {
                if builds.isEmpty && read.problems.isEmpty { print("no builds of '\(model)' yet") }
                for build in builds { print(BuildsCommand.summary(build.attributes)) }
            }
            try failOnCorruptFiles(read.problems)
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "One build: status, error, artifacts, log.")
        @Argument(help: "The build id, such as demand-3.") var id: String
        @Flag(help: "Print the build record as JSON.") var json = false
        @OptionGroup var home: HomeOption

        func run() throws {
            guard let (model, number) = BuildTables.parse(buildID: id) else {
                throw ValidationError("'\(id)' is not a build id; ids look like MODEL-NUMBER (see `slipway builds list MODEL`)")
            }
            guard let record = try home.registry().get(BuildTables.builds, ItemKey(model, BuildTables.sortKey(number))) else {
                throw CommandFailure.notFound("no build '\(id)'; see `slipway builds list \(model)`")
            }
            if json {
                print(JSONValue.object(record.attributes).serialized())
                return
            }
            print(JSONValue.object(record.attributes).serialized(pretty: true))
            if let log = record.attributes["log"]?.stringValue, let text = try? String(contentsOfFile: log, encoding: .utf8) {
                print("--- log \(log)\n\(text)", terminator: "")
            }
        }
    }
}

/// `slipway artifacts latest MODEL --stage STAGE`.
struct ArtifactsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "artifacts", abstract: "Read stage artifacts.", subcommands: [Latest.self])

    struct Latest: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "The artifact of a stage from the model's latest successful build.")
        @Argument(help: "The model.") var model: String
        @Option(help: "preprocess, train, evaluate or serve.") var stage: String
        @Flag(help: "Print {\"digest\", \"path\", \"commit\", \"build\"} as JSON.") var json = false
        @OptionGroup var home: HomeOption

        func run() throws {
            guard StageKind(rawValue: stage) != nil else {
                throw ValidationError("unknown stage '\(stage)'; use one of \(StageKind.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            let artifact: LatestArtifact
            do { artifact = try LatestArtifact.find(model: model, stage: stage, in: try home.registry()) } catch let missing as LatestArtifact.Missing {
                throw CommandFailure.notFound(missing.description)
            }
            if json { print(artifact.json.serialized()) } else {
                print("\(artifact.digest.stringValue ?? "?")\t\(artifact.path.stringValue ?? "?")\t\(artifact.commit.stringValue?.prefix(7) ?? "?")")
            }
        }
    }
}
