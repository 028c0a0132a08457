import Home
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One write of a transaction.
public enum TransactionWrite: Sendable, Equatable {
    /// Replace the item whole.
    case put(table: String, key: ItemKey, attributes: [String: JSONValue], condition: Condition)
    /// Read-modify-write some attributes (creating the item when absent).
    case update(table: String, key: ItemKey, changes: [AttributeChange], condition: Condition)
    /// Delete the item.
    case delete(table: String, key: ItemKey, condition: Condition)
    /// Change nothing, but require the condition (DynamoDB's ConditionCheck).
    case check(table: String, key: ItemKey, condition: Condition)

    /// The table the write addresses.
    public var table: String {
        switch self {
        case .put(let t, _, _, _), .update(let t, _, _, _), .delete(let t, _, _), .check(let t, _, _): return t
        }
    }

    /// The key the write addresses.
    public var key: ItemKey {
        switch self {
        case .put(_, let k, _, _), .update(_, let k, _, _), .delete(_, let k, _), .check(_, let k, _): return k
        }
    }

    /// The condition the write requires.
    public var condition: Condition {
        switch self {
        case .put(_, _, _, let c), .update(_, _, _, let c), .delete(_, _, let c), .check(_, _, let c): return c
        }
    }
}

extension Registry {
    /// The most writes one transaction may hold (DynamoDB's limit).
    public static let maxTransactionWrites = 100

    /// Applies all `writes` or none of them, even across a crash: when any condition fails
    /// nothing changes and the error names that item and its version. Returns, per write,
    /// the item as stored (nil for deletes and checks).
    ///
    /// The commit point is a durable redo journal in `transactions/`: the new items are
    /// first written to fsynced temporary files beside their targets, then the journal, then
    /// the items are renamed into place. A process that finds the journal of a dead writer
    /// finishes its renames before touching any of its items.
    @discardableResult
    public func transact(_ writes: [TransactionWrite]) throws(RegistryError) -> [Item?] {
        guard !writes.isEmpty else { throw .invalidRequest("a transaction needs at least one write") }
        guard writes.count <= Self.maxTransactionWrites else {
            throw .invalidRequest("a transaction holds at most \(Self.maxTransactionWrites) writes, not \(writes.count); split it")
        }
        var seen = Set<ItemAddress>()
        var absentTables = Set<String>()
        for write in writes {
            guard seen.insert(ItemAddress(table: write.table, key: write.key)).inserted else {
                throw .invalidRequest(
                    "a transaction writes item \(write.key) in table '\(write.table)' twice; merge the two writes into one")
            }
            switch write {
            case .put, .update: try ensureTable(write.table, for: write.key)
            case .delete, .check:
                // Deletes and checks never create a table; on a missing one the item is absent.
                try Layout.validateTableName(write.table)
                if try schema(of: write.table) == nil { absentTables.insert(write.table) }
            }
        }
        let stripes = Set(writes.filter { !absentTables.contains($0.table) }.map {
            Stripe(table: $0.table, index: Layout.stripe(of: $0.key))
        })
        let locks = try lock(stripes)
        defer { withExtendedLifetime(locks) {} }
        try recoverTransactions(touching: stripes)

        var results: [Item?] = []
        var journal = Journal(stripes: stripes.sorted())
        var temporaries: [String] = []
        let committed: (lock: FileLock, path: String)
        do throws(RegistryError) {
            for write in writes {
                let path = layout.itemFile(write.table, write.key)
                let current = absentTables.contains(write.table) ? nil : try readItem(write.table, write.key)
                try check(write.condition, write.table, write.key, current)
                let attributes: [String: JSONValue]
                switch write {
                case .put(_, _, let a, _): attributes = a
                case .update(_, _, let changes, _):
                    attributes = try Self.apply(changes, to: current?.attributes ?? [:], table: write.table, key: write.key)
                case .delete:
                    if current != nil { journal.deletes.append(relative(path)) }
                    results.append(nil)
                    continue
                case .check:
                    results.append(nil)
                    continue
                }
                let item = Item(table: write.table, key: write.key, version: (current?.version ?? 0) + 1, attributes: attributes)
                if write.key.sort != nil { try ensureFolder(FileIO.parent(of: path)) }
                let temporary = try disk(FileIO.writeTemporary(ItemCodec.encode(item), beside: path))
                temporaries.append(temporary)
                journal.moves.append(.init(from: relative(temporary), to: relative(path)))
                results.append(item)
            }
            // The temporaries' names must be durable before the journal that names them.
            for folder in Set(temporaries.map(FileIO.parent(of:))).sorted() { try disk(FileIO.syncDirectory(folder)) }
            crashIfAsked(at: .beforeJournal)
            committed = try commit(journal)
        } catch {
            for temporary in temporaries { _ = try? FileIO.remove(temporary) }
            throw error
        }
        // Committed: from here on the transaction has happened. Should finishing it fail
        // (a full disk, an I/O error), its journal stays and the next writer of its items,
        // or the next process to open the registry, finishes it.
        crashIfAsked(at: .afterJournal)
        do throws(RegistryError) {
            try apply(journal)
            try disk(FileIO.remove(committed.path))
            withExtendedLifetime(committed.lock) {}
            try disk(FileIO.syncDirectory(layout.transactionsFolder))
        } catch {}
        return results
    }

    /// Makes the journal durable under `transactions/ID.json` and returns the lock that
    /// marks its writer alive, with the journal's path. The lock is taken before the
    /// journal becomes visible (it stays held through the rename: it belongs to the open file).
    private func commit(_ journal: Journal) throws(RegistryError) -> (lock: FileLock, path: String) {
        let id = "\(getpid())-\(UInt64.random(in: 0...UInt64.max))"
        let final = layout.transactionsFolder + "/" + id + ".json"
        let temporary = try disk(FileIO.writeTemporary(journal.json.serializedBytes(pretty: true), beside: final))
        do throws(RegistryError) {
            let lock = try disk(FileLock(path: temporary))
            try disk(FileIO.rename(temporary, to: final))
            try disk(FileIO.syncDirectory(layout.transactionsFolder))
            return (lock, final)
        } catch {
            _ = try? FileIO.remove(temporary)
            _ = try? FileIO.remove(final)
            throw error
        }
    }

    /// Carries out a committed journal; safe to repeat after a crash at any point.
    private func apply(_ journal: Journal) throws(RegistryError) {
        var folders = Set<String>()
        for (index, move) in journal.moves.enumerated() {
            let from = root + "/" + move.from
            let to = root + "/" + move.to
            if Glibc.access(from, F_OK) == 0 {
                try disk(FileIO.rename(from, to: to))
            }
            folders.insert(FileIO.parent(of: to))
            if index == 0 { crashIfAsked(at: .midApply) }
        }
        for path in journal.deletes {
            try disk(FileIO.remove(root + "/" + path))
            folders.insert(FileIO.parent(of: root + "/" + path))
        }
        for folder in folders.sorted() { try disk(FileIO.syncDirectory(folder)) }
    }

    /// Finishes every committed journal that names one of `stripes`. The caller holds
    /// those stripes, so such a journal's writer has died (a live writer would hold them).
    func recoverTransactions(touching stripes: Set<Stripe>) throws(RegistryError) {
        for (path, journal) in try committedJournals().journals where !stripes.isDisjoint(with: journal.stripes) {
            // Waits while another process finishes the same journal.
            guard let lock = try disk(FileLock.existing(path: path, timeout: options.lockTimeout)), !lock.isUnlinked else {
                continue
            }
            try finish(journal, at: path)
        }
    }

    /// Finishes the journals whose writers are gone (their lock is free); run on open.
    func recoverAbandonedTransactions() throws(RegistryError) {
        for (path, journal) in try committedJournals().journals {
            guard let lock = (try? FileLock.attempt(path: path)) ?? nil, !lock.isUnlinked else { continue }
            try finish(journal, at: path)
        }
    }

    /// Before a read: finishes dead writers' transactions, so a reader never sees one half
    /// applied. Costs one `stat` while the journal folder stays as it was last seen empty.
    func recoverBeforeReading() throws(RegistryError) {
        var info = stat()
        guard stat(layout.transactionsFolder, &info) == 0 else { return }
        let time = info.st_mtim
        if let seen = emptyJournalFolderTime.withLock({ $0 }), seen.tv_sec == time.tv_sec, seen.tv_nsec == time.tv_nsec {
            return
        }
        let names = try disk(FileIO.list(layout.transactionsFolder)) ?? []
        if names.isEmpty {
            emptyJournalFolderTime.withLock { $0 = time }
            return
        }
        try recoverAbandonedTransactions()
    }

    private func finish(_ journal: Journal, at path: String) throws(RegistryError) {
        try apply(journal)
        try disk(FileIO.remove(path))
        try disk(FileIO.syncDirectory(layout.transactionsFolder))
    }

    /// The committed journals, and the files in `transactions/` that are not journals
    /// (skipped here; `check` reports them).
    func committedJournals() throws(RegistryError) -> (journals: [(String, Journal)], problems: [RegistryProblem]) {
        let names = try disk(FileIO.list(layout.transactionsFolder)) ?? []
        var journals: [(String, Journal)] = []
        var problems: [RegistryProblem] = []
        for name in names where name.hasSuffix(".json") && !name.hasPrefix(".") {
            let path = layout.transactionsFolder + "/" + name
            guard let bytes = try disk(FileIO.read(path)) else { continue }  // finished meanwhile
            do throws(RegistryError) {
                journals.append((path, try Journal(bytes: bytes, path: path)))
            } catch .corrupt(let path, let reason) {
                problems.append(RegistryProblem(path: path, reason: reason))
            }
        }
        return (journals, problems)
    }

    private func relative(_ path: String) -> String {
        String(path.dropFirst(root.count + 1))
    }

    private func crashIfAsked(at point: CrashPoint) {
        if options.crashPoint == point { kill(getpid(), SIGKILL) }
    }
}

/// A table and key, compared by bytes.
struct ItemAddress: Hashable {
    var table: String
    var key: ItemKey
}

/// The redo journal of a transaction: the stripes it holds, the temporary files to rename
/// over their targets, and the files to delete. Paths are relative to the registry folder.
struct Journal {
    struct Move: Equatable {
        var from: String
        var to: String
    }

    var stripes: [Stripe]
    var moves: [Move] = []
    var deletes: [String] = []

    init(stripes: [Stripe]) { self.stripes = stripes }

    var json: JSONValue {
        [
            "format": .int(Int64(Registry.formatVersion)),
            "stripes": .array(stripes.map { ["table": .string($0.table), "stripe": .int(Int64($0.index))] }),
            "moves": .array(moves.map { ["from": .string($0.from), "to": .string($0.to)] }),
            "deletes": .array(deletes.map { .string($0) }),
        ]
    }

    init(bytes: [UInt8], path: String) throws(RegistryError) {
        let value = try? JSONValue(parsing: bytes)
        let stripes = value?["stripes"]?.arrayValue?.compactMap { s -> Stripe? in
            guard let table = s["table"]?.stringValue, let index = s["stripe"]?.intValue else { return nil }
            return Stripe(table: table, index: Int(index))
        }
        let moves = value?["moves"]?.arrayValue?.compactMap { m -> Move? in
            guard let from = m["from"]?.stringValue, let to = m["to"]?.stringValue else { return nil }
            return Move(from: from, to: to)
        }
        let deletes = value?["deletes"]?.arrayValue?.compactMap(\.stringValue)
        guard let stripes, let moves, let deletes,
            stripes.count == value?["stripes"]?.arrayValue?.count, moves.count == value?["moves"]?.arrayValue?.count,
            deletes.count == value?["deletes"]?.arrayValue?.count
        else {
            throw .corrupt(path: path, reason: "not a transaction journal; if no slipway wrote it, move it out of the folder")
        }
        self.stripes = stripes
        self.moves = moves
        self.deletes = deletes
    }
}
