import Home
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// A file-based JSON key-value store with DynamoDB's semantics: tables of versioned items
/// addressed by a partition key and an optional sort key, conditional writes, atomic
/// updates, queries of a partition by sort key, scans, and all-or-nothing transactions.
///
/// Every acknowledged write is durable (temporary file, fsync, rename, fsync of the
/// folder) and survives `kill -9` and a power cut; readers never lock and never see a
/// torn item; any number of processes may share one registry folder. Writers of one item
/// serialise on a `flock` stripe; transactions commit through a redo journal that any
/// process finishes if its writer died. Everything on disk is plain JSON (see `Layout`).
public final class Registry: Sendable {
    /// The on-disk format this code reads and writes.
    public static let formatVersion = 1

    /// Testing hooks; production code leaves them at their defaults.
    public struct Options: Sendable {
        /// A step of a transaction at which the process kills itself with SIGKILL, to test
        /// crash recovery for real.
        public var crashPoint: CrashPoint?
        /// How long a writer waits for another process's lock before giving up.
        public var lockTimeout: Double

        /// Options with no crash point and a 60-second lock timeout.
        public init(crashPoint: CrashPoint? = nil, lockTimeout: Double = 60) {
            self.crashPoint = crashPoint
            self.lockTimeout = lockTimeout
        }
    }

    /// The steps of a transaction commit at which `Options.crashPoint` can kill the process.
    public enum CrashPoint: String, Sendable, CaseIterable {
        /// Every new item is written to its temporary file; no journal yet (rolls back).
        case beforeJournal = "before-journal"
        /// The journal is durable; no item has moved yet (rolls forward).
        case afterJournal = "after-journal"
        /// The first item has moved, the others not (rolls forward).
        case midApply = "mid-apply"
    }

    /// The registry folder.
    public let root: String
    let layout: Layout
    let options: Options
    /// Whether each known table has a sort key; a table's schema never changes.
    let schemas = Mutex<[String: Bool]>([:])
    /// Folders this instance has made durable (created or fsynced their parent).
    let durableFolders = Mutex<Set<String>>([])
    /// The modification time of `transactions/` when it was last seen empty: while it is
    /// unchanged, readers need not look for journals of dead writers.
    let emptyJournalFolderTime = Mutex<timespec?>(nil)

    /// Opens (creating when needed) the registry in `root`, checks its format, and finishes
    /// any transaction whose writer died after committing it.
    public init(root: String, options: Options = Options()) throws(RegistryError) {
        self.root = root
        self.layout = Layout(root: root)
        self.options = options
        try disk(FileIO.makeDirectories(layout.tablesFolder))
        try disk(FileIO.makeDirectories(layout.transactionsFolder))
        try checkFormat()
        try recoverAbandonedTransactions()
    }

    /// The registry of a Slipway home: `HOME/registry`.
    public convenience init(home: String, options: Options = Options()) throws(RegistryError) {
        try self.init(root: home + "/registry", options: options)
    }

    private func checkFormat() throws(RegistryError) {
        let expected: JSONValue = ["format": .int(Int64(Self.formatVersion))]
        if let bytes = try disk(FileIO.read(layout.formatFile)) {
            let found = try? JSONValue(parsing: bytes)
            guard let found, found["format"] != nil else {
                throw .corrupt(path: layout.formatFile, reason: "expected {\"format\": \(Self.formatVersion)}")
            }
            guard found["format"] == expected["format"] else {
                throw .unsupportedFormat(path: root, found: found["format"]!.serialized())
            }
            return
        }
        _ = try disk(FileIO.createExclusively(expected.serializedBytes(pretty: true) + [0x0A], at: layout.formatFile))
    }

    // MARK: Reading items

    /// The item at `key`, or nil when there is none.
    ///
    /// Throws `.corrupt` with the file's path when the item's file does not parse.
    public func get(_ table: String, _ key: ItemKey) throws(RegistryError) -> Item? {
        try Layout.validateTableName(table)
        try validate(key, in: table)
        if let hasSortKey = try schema(of: table), hasSortKey != (key.sort != nil) {
            throw schemaMismatch(table, key, hasSortKey: hasSortKey)
        }
        try recoverBeforeReading()
        return try readItem(table, key)
    }

    /// The stored item at `key` (no checks, no recovery).
    func readItem(_ table: String, _ key: ItemKey) throws(RegistryError) -> Item? {
        let path = layout.itemFile(table, key)
        guard let bytes = try disk(FileIO.read(path)) else { return nil }
        return try ItemCodec.decode(bytes, path: path, table: table, key: key)
    }

    /// Creates `folder` durably, once per instance.
    func ensureFolder(_ folder: String) throws(RegistryError) {
        if durableFolders.withLock({ $0.contains(folder) }) { return }
        try disk(FileIO.makeDirectories(folder))
        durableFolders.withLock { _ = $0.insert(folder) }
    }

    // MARK: Tables

    /// The names of the tables, sorted.
    public func tables() throws(RegistryError) -> [String] {
        let names = try disk(FileIO.list(layout.tablesFolder)) ?? []
        return names.filter { name in
            (try? Layout.validateTableName(name)) != nil && FileIO.isDirectory(layout.tableFolder(name))
        }.sorted(by: utf8Less)
    }

    /// Whether `table` has sort keys, or nil when the table does not exist yet.
    func schema(of table: String) throws(RegistryError) -> Bool? {
        if let known = schemas.withLock({ $0[table] }) { return known }
        let path = layout.schemaFile(table)
        guard let bytes = try disk(FileIO.read(path)) else { return nil }
        guard let value = try? JSONValue(parsing: bytes), case .bool(let hasSortKey)? = value["sortKey"] else {
            throw .corrupt(path: path, reason: "expected {\"format\": 1, \"sortKey\": true|false}")
        }
        schemas.withLock { $0[table] = hasSortKey }
        return hasSortKey
    }

    /// Creates `table` on its first write, its key schema taken from that write's key, or
    /// checks the key against the existing schema.
    func ensureTable(_ table: String, for key: ItemKey) throws(RegistryError) {
        try Layout.validateTableName(table)
        try validate(key, in: table)
        let wantsSortKey = key.sort != nil
        if let hasSortKey = try schema(of: table) {
            guard hasSortKey == wantsSortKey else { throw schemaMismatch(table, key, hasSortKey: hasSortKey) }
            return
        }
        try ensureFolder(layout.tableFolder(table) + "/.locks")
        let schema: JSONValue = ["format": .int(Int64(Self.formatVersion)), "name": .string(table), "sortKey": .bool(wantsSortKey)]
        if try !disk(FileIO.createExclusively(schema.serializedBytes(pretty: true) + [0x0A], at: layout.schemaFile(table))) {
            // Another process created the table first: its schema rules.
            if let hasSortKey = try self.schema(of: table), hasSortKey != wantsSortKey {
                throw schemaMismatch(table, key, hasSortKey: hasSortKey)
            }
            return
        }
        schemas.withLock { $0[table] = wantsSortKey }
    }

    private func validate(_ key: ItemKey, in table: String) throws(RegistryError) {
        if key.partition.isEmpty { throw .invalidKey(table: table, key: key, reason: "the partition key is empty") }
        if key.sort?.isEmpty == true { throw .invalidKey(table: table, key: key, reason: "the sort key is empty") }
    }

    private func schemaMismatch(_ table: String, _ key: ItemKey, hasSortKey: Bool) -> RegistryError {
        hasSortKey
            ? .invalidKey(table: table, key: key, reason: "the table has sort keys; give one after the partition key")
            : .invalidKey(table: table, key: key, reason: "the table has no sort keys; give only the partition key")
    }
}
