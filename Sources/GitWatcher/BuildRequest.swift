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
    /// `hook`, `watcher` or `manual`.
    package var requestedBy: String
    /// Seconds since 1970.
    package var requestedAt: Double
    /// Builds of this request that a dead process interrupted (it is retried once).
    package var attempts: Int = 0
    /// Set when the branch had already moved past this commit when the push was seen:
    /// the request is recorded as superseded by that commit, not built.
    package var supersededBy: String?

    package init(
        repositoryName: String, repositoryPath: String, branch: String?, commit: String, requestedBy: String,
        requestedAt: Double, supersededBy: String? = nil
    ) {
        self.repositoryName = repositoryName
        self.repositoryPath = repositoryPath
        self.branch = branch
        self.commit = commit
        self.requestedBy = requestedBy
        self.requestedAt = requestedAt
        self.supersededBy = supersededBy
    }

    /// The request as stored in the queue.
    package var json: [String: JSONValue] {
        var object: [String: JSONValue] = [
            "repository": .string(repositoryName), "repositoryPath": .string(repositoryPath), "commit": .string(commit),
            "requestedBy": .string(requestedBy), "requestedAt": .double(requestedAt), "attempts": .int(Int64(attempts)),
        ]
        if let branch { object["branch"] = .string(branch) }
        if let supersededBy { object["supersededBy"] = .string(supersededBy) }
        return object
    }

    /// A request read back from the queue; nil when fields are missing.
    package init?(json: [String: JSONValue]) {
        guard let name = json["repository"]?.stringValue, let path = json["repositoryPath"]?.stringValue,
            let commit = json["commit"]?.stringValue
        else { return nil }
        self.init(repositoryName: name, repositoryPath: path, branch: json["branch"]?.stringValue, commit: commit,
                  requestedBy: json["requestedBy"]?.stringValue ?? "unknown", requestedAt: json["requestedAt"]?.doubleValue ?? 0,
                  supersededBy: json["supersededBy"]?.stringValue)
        attempts = Int(json["attempts"]?.intValue ?? 0)
    }
}
