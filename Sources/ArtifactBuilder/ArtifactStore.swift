import Foundation
import Home

/// An immutable stage artifact: the stage's files at a commit plus its environment.
package struct Artifact: Sendable, Equatable {
    /// SHA-256 of the stage, its files (path, mode, content id) and its environment.
    package var digest: String
    package var stage: StageKind
    /// `$SLIPWAY_HOME/artifacts/DIGEST`: `code/` holds the files, `manifest.json` says what.
    package var path: String
    package var environment: PythonEnvironment
    /// Whether this build wrote it (false: reused from an earlier build).
    package var created: Bool

    /// The folder holding the stage's files.
    package var codePath: String { path + "/code" }
}

/// Content-addressed stage artifacts under `$SLIPWAY_HOME/artifacts`. An artifact whose
/// inputs did not change has the same digest and is reused, never rebuilt.
package struct ArtifactStore: Sendable {
    package let folder: String

    package init(folder: String) { self.folder = folder }

    /// The repository files a stage needs: its script, its includes, the requirements
    /// file, and for preprocessing the repository data it reads.
    package static func files(for stage: Stage, config: ModelConfig, in snapshot: any RepositorySnapshot) -> [SnapshotFile] {
        var paths = [stage.script] + stage.include
        if let requirements = config.requirements { paths.append(requirements) }
        for input in config.data where stage.inputs.contains(input.name) {
            if case .repository(let path) = input.source { paths.append(path) }
        }
        var files: [String: SnapshotFile] = [:]
        var pending = paths
        while let path = pending.popLast() {
            for file in snapshot.files(under: path) where files.updateValue(file, forKey: file.path) == nil {
                // A symlink brings what it points at (inside the repository, as checked),
                // so the artifact is whole and its digest changes when the target does.
                if file.isSymlink, let target = (try? snapshot.resolve(file.path)) ?? nil { pending.append(target) }
            }
        }
        return files.values.sorted { $0.path < $1.path }
    }

    /// The artifact's digest for these files and environment.
    package static func digest(stage: StageKind, files: [SnapshotFile], environment: PythonEnvironment) -> String {
        Digest.sha256(lines: ["slipway-artifact 1", "stage \(stage.rawValue)", "environment \(environment.digest)"]
            + files.map { "file \(String($0.mode, radix: 8)) \($0.contentID) \($0.path)" })
    }

    /// The stage's artifact, written when no artifact with its digest exists yet.
    package func artifact(
        for stage: Stage, config: ModelConfig, snapshot: any RepositorySnapshot, environment: PythonEnvironment, commit: String
    ) throws -> Artifact {
        let files = Self.files(for: stage, config: config, in: snapshot)
        let digest = Self.digest(stage: stage.kind, files: files, environment: environment)
        let path = folder + "/" + digest
        let manager = FileManager.default
        if manager.fileExists(atPath: path + "/manifest.json") {
            return Artifact(digest: digest, stage: stage.kind, path: path, environment: environment, created: false)
        }
        try manager.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let temporary = folder + "/.tmp-\(digest.prefix(16))-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        defer { try? manager.removeItem(atPath: temporary) }
        try snapshot.write(files, to: temporary + "/code", readOnly: true)
        let manifest: [String: Any] = [
            "format": 1, "digest": digest, "stage": stage.kind.rawValue, "model": config.name, "script": stage.script,
            "firstCommit": commit,
            "environment": ["digest": environment.digest, "path": environment.path],
            "files": files.map { ["path": $0.path, "mode": String($0.mode, radix: 8), "content": $0.contentID] },
        ]
        let json = try JSONSerialization.data(withJSONObject: manifest, options: [.prettyPrinted, .sortedKeys])
        try json.write(to: URL(fileURLWithPath: temporary + "/manifest.json"))
        try DurableFolders.sync(temporary)
        if rename(temporary, path) != 0 {
            // Another build wrote the same artifact first: identical content, use theirs.
            guard errno == EEXIST || errno == ENOTEMPTY else {
                throw BuildFailure("cannot store artifact '\(path)': \(String(cString: strerror(errno)))", hint: "check free disk space")
            }
            return Artifact(digest: digest, stage: stage.kind, path: path, environment: environment, created: false)
        }
        try DurableFolders.syncParent(of: path)
        return Artifact(digest: digest, stage: stage.kind, path: path, environment: environment, created: true)
    }
}
