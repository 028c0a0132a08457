import Home
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What `Registry.check` found and did.
public struct CheckReport: Sendable, Equatable {
    /// Tables checked.
    public var tables: Int
    /// Items that read back whole.
    public var items: Int
    /// Corrupt or foreign files, each with its path and reason (left in place).
    public var problems: [RegistryProblem]
    /// Temporary files of writers that died before their rename, removed.
    public var removedTemporaries: [String]

    /// `{"tables", "items", "problems": [{"path", "reason"}], "removedTemporaries"}`:
    /// what `slipway registry check --json` prints.
    public var json: JSONValue {
        [
            "tables": .int(Int64(tables)), "items": .int(Int64(items)),
            "problems": .array(problems.map { ["path": .string($0.path), "reason": .string($0.reason)] }),
            "removedTemporaries": .array(removedTemporaries.map { .string($0) }),
        ]
    }
}

extension Registry {
    /// Reads every item of every table, reporting corrupt or foreign files, and removes the
    /// temporary files that writers killed mid-write left behind: those older than `age`
    /// seconds whose writer process is gone and that no committed journal names. Like `git fsck`: safe to
    /// run at any time, alongside other processes.
    public func check(removingTemporariesOlderThan age: Double = 600) throws(RegistryError) -> CheckReport {
        try recoverAbandonedTransactions()  // a dead transaction's temporaries are still needed until then
        var report = CheckReport(tables: 0, items: 0, problems: [], removedTemporaries: [])
        var folders = [layout.transactionsFolder]
        for table in try tables() {
            report.tables += 1
            let result = try scan(table)
            report.items += result.items.count
            report.problems += result.problems
            let folder = layout.tableFolder(table)
            folders.append(folder)
            for name in try disk(FileIO.list(folder)) ?? [] where !name.hasPrefix(".") && FileIO.isDirectory(folder + "/" + name) {
                folders.append(folder + "/" + name)
            }
        }
        // A committed transaction's temporaries are its data until they are renamed.
        let (journals, journalProblems) = try committedJournals()
        report.problems += journalProblems
        let pending = Set(journals.flatMap { $0.1.moves.map { root + "/" + $0.from } })
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        let seconds = { (t: timespec) in Double(t.tv_sec) + Double(t.tv_nsec) / 1e9 }
        for folder in folders {
            for name in try disk(FileIO.list(folder)) ?? [] where name.hasPrefix(".tmp-") {
                let path = folder + "/" + name
                if pending.contains(path) || Self.writerIsAlive(temporaryName: name) { continue }
                var info = stat()
                guard stat(path, &info) == 0, seconds(now) - seconds(info.st_mtim) >= age else { continue }
                if try disk(FileIO.remove(path)) { report.removedTemporaries.append(path) }
            }
        }
        return report
    }

    /// Whether the process that wrote a `.tmp-PID-...` file still runs (it may yet rename
    /// the file, or name it in a journal).
    static func writerIsAlive(temporaryName name: String) -> Bool {
        let fields = name.dropFirst(".tmp-".count).split(separator: "-")
        guard let field = fields.first, let pid = pid_t(field), pid > 0 else { return false }
        return kill(pid, 0) == 0 || errno == EPERM
    }
}
