extension ModelConfig {
    /// Checks the paths of the config against the repository's files: scripts, includes,
    /// the requirements file and repository data must exist, and no symlink they use may
    /// point outside the repository. Returns every problem.
    package func check(against snapshot: any RepositorySnapshot) -> [ConfigDiagnostic] {
        var problems: [ConfigDiagnostic] = []
        func require(_ path: String, key: String, file: Bool) {
            let entries = snapshot.files(under: path)
            if entries.isEmpty {
                let nearby = snapshot.files.keys.filter { $0.split(separator: "/").last == path.split(separator: "/").last }.sorted().first
                problems.append(ConfigDiagnostic(
                    keyPath: key, line: lines[key], message: "'\(path)' is not in \(snapshot.label)",
                    hint: nearby.map { "did you mean '\($0)'?" } ?? "commit the file, or fix the path"))
                return
            }
            if file && snapshot.files[path] == nil {
                problems.append(ConfigDiagnostic(keyPath: key, line: lines[key], message: "'\(path)' is a folder, not a file", hint: "name the script file"))
            }
            for entry in entries where entry.isSymlink {
                if (try? snapshot.resolve(entry.path)) ?? nil == nil {
                    problems.append(ConfigDiagnostic(
                        keyPath: key, line: lines[key], message: "symlink '\(entry.path)' points outside the repository",
                        hint: "commit the file itself, or declare it as host data"))
                }
            }
        }
        if let requirements { require(requirements, key: "requirements", file: true) }
        for input in data {
            if case .repository(let path) = input.source { require(path, key: "data.\(input.name).path", file: false) }
        }
        for (kind, stage) in stages.sorted(by: { $0.key < $1.key }) {
            require(stage.script, key: "stages.\(kind.rawValue).script", file: true)
            for (index, path) in stage.include.enumerated() {
                require(path, key: "stages.\(kind.rawValue).include[\(index)]", file: false)
            }
        }
        return problems
    }
}
