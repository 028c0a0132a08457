import Registry

/// A build record's `status`, as stored in `builds/MODEL/NNNNNNNN`.
package enum BuildStatus: String, Codable, Sendable, CaseIterable {
    /// Being built now (by the process whose `pid` the record holds).
    case running
    /// Built: its artifacts are recorded.
    case succeeded
    /// Not built: `error` says why.
    case failed
    /// Its process died; the request runs once more.
    case interrupted
    /// A newer push to the same branch was built instead.
    case superseded
}

extension Item {
    /// The status of a build record; nil when the item has none a build can have.
    package var buildStatus: BuildStatus? { attributes["status"]?.stringValue.flatMap(BuildStatus.init) }
}

/// What building a request came to.
package enum BuildOutcome: Sendable {
    /// A new build that succeeded and moved the model's latest-artifact pointers.
    case built(Item)
    /// A new build that failed (its record says why); nothing else changed.
    case failed(Item)
    /// A queued commit found already built: its existing successful build, nothing new.
    case alreadyBuilt(Item)

    /// The build record: the new one, or the existing one for `alreadyBuilt`.
    package var record: Item {
        switch self {
        case .built(let record), .failed(let record), .alreadyBuilt(let record): return record
        }
    }

    /// Whether a new build was made (as opposed to an existing one found).
    package var isNew: Bool {
        if case .alreadyBuilt = self { return false }
        return true
    }
}
