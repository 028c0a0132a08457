import Registry

/// What starts a build: a commit of a registered repository.
package struct BuildRequest: Sendable, Equatable {
    /// The repository's registered name.
    package var repositoryName: String
    /// The repository's path (bare or not).
    package var repositoryPath: String
    /// The branch that moved (nil for a build by hand of a bare revision).
    package var branch: String?
    /// The commit (a sha, or any revision for builds by hand).
    package var commit: String
    /// `hook`, `watcher`, `manual` or `retry`.
    package var requestedBy: String
    /// Seconds since 1970.
    package var requestedAt: Double

    package init(repositoryName: String, repositoryPath: String, branch: String?, commit: String, requestedBy: String, requestedAt: Double) {
        self.repositoryName = repositoryName
        self.repositoryPath = repositoryPath
        self.branch = branch
        self.commit = commit
        self.requestedBy = requestedBy
        self.requestedAt = requestedAt
    }

    /// The request as stored in the queue.
    package var json: [String: JSONValue] {
        var object: [String: JSONValue] = [
            "repository": .string(repositoryName), "repositoryPath": .string(repositoryPath), "commit": .string(commit),
            "requestedBy": .string(requestedBy), "requestedAt": .double(requestedAt),
        ]
        if let branch { object["branch"] = .string(branch) }
        return object
    }

    /// A request read back from the queue; nil when fields are missing.
    package init?(json: [String: JSONValue]) {
        guard let name = json["repository"]?.stringValue, let path = json["repositoryPath"]?.stringValue,
            let commit = json["commit"]?.stringValue
        else { return nil }
        self.init(repositoryName: name, repositoryPath: path, branch: json["branch"]?.stringValue, commit: commit,
                  requestedBy: json["requestedBy"]?.stringValue ?? "unknown", requestedAt: json["requestedAt"]?.doubleValue ?? 0)
    }
}
