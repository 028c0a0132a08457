import ArgumentParser
import ArtifactBuilder
import Foundation
import GitWatcher

/// `slipway model init|validate`.
struct ModelCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "model", abstract: "Create and check model repositories.", subcommands: [Init.self, Validate.self])

    struct Init: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write a working model repository (a small numpy demand model) into DIR.")
        @Argument(help: "The folder to write (created when missing).") var directory: String
        @Option(help: "The model's name.") var name: String

        func run() throws {
            do {
                let files = try ModelTemplate.write(to: directory, name: name)
                print("wrote \(files.count) files to \(directory): \(files.joined(separator: ", "))")
                print("next: cd \(directory) && git init -b main && git add . && git commit -m 'first model', then push it to a repository with `slipway hook install`")
            } catch let failure as BuildFailure {
                throw CommandFailure(message: failure.description, status: ExitStatus.failure)
            }
        }
    }

    struct Validate: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check a model repository's slipway.yaml and the paths it names (exit 1 with every problem).")
        @Argument(help: "A folder holding slipway.yaml (default: the current folder).") var directory: String?
        @Option(help: "Check a commit of this repository instead of a folder.") var repo: String?
        @Option(help: "The commit (or branch) to check with --repo.") var commit = "HEAD"
        @Flag(help: "Print the problems as JSON.") var json = false

        func validate() throws {
            if repo != nil && directory != nil { throw ValidationError("give either DIR or --repo PATH, not both") }
        }

        func run() throws {
            let snapshot: any RepositorySnapshot
            if let repo {
                let repository = try GitRepository(path: repo)
                snapshot = try GitSnapshot(repository: repository, commit: try repository.resolveCommit(commit))
            } else {
                snapshot = try FolderSnapshot(root: directory ?? FileManager.default.currentDirectoryPath)
            }
            guard snapshot.files[ModelConfig.fileName] != nil else {
                throw CommandFailure(message: "no \(ModelConfig.fileName) in \(snapshot.label); create one with `slipway model init`", status: ExitStatus.notFound)
            }
            let text = String(decoding: try snapshot.contents(of: ModelConfig.fileName), as: UTF8.self)
            var diagnostics: [ConfigDiagnostic]
            var config: ModelConfig?
            do {
                config = try ModelConfig.parse(text, file: ModelConfig.fileName)
                diagnostics = config!.check(against: snapshot)
            } catch {
                diagnostics = error.diagnostics
            }
            if json {
                print(DiagnosticsJSON.render(diagnostics))
            } else if diagnostics.isEmpty, let config {
                print("\(ModelConfig.fileName) in \(snapshot.label) is valid: model '\(config.name)', stages \(config.stages.keys.sorted().map(\.rawValue).joined(separator: ", "))")
            }
            if !diagnostics.isEmpty {
                throw CommandFailure(message: ConfigError(file: "\(ModelConfig.fileName) in \(snapshot.label)", diagnostics: diagnostics).description, status: ExitStatus.failure)
            }
        }
    }
}

/// Diagnostics as a JSON array of {keyPath, line, message, hint}.
enum DiagnosticsJSON {
    static func render(_ diagnostics: [ConfigDiagnostic]) -> String {
        let objects: [[String: Any]] = diagnostics.map { d in
            ["keyPath": d.keyPath, "line": d.line as Any? ?? NSNull(), "message": d.message, "hint": d.hint as Any? ?? NSNull()]
        }
        let data = (try? JSONSerialization.data(withJSONObject: objects, options: [.sortedKeys])) ?? Data("[]".utf8)
        return String(decoding: data, as: UTF8.self)
    }
}
