import Home
extension Registry {
    /// The items of one partition whose sort keys match `condition`, ordered by sort key
    /// (bytes), descending when asked, at most `limit` of them. Corrupt or foreign files
    /// are skipped and listed in `problems`.
    public func query(
        _ table: String, partition: String, where condition: SortKeyCondition = .all,
        descending: Bool = false, limit: Int? = nil
    ) throws(RegistryError) -> ReadResult {
        try Layout.validateTableName(table)
        guard let hasSortKey = try schema(of: table) else { return ReadResult(items: [], problems: []) }
        guard hasSortKey else {
            throw .invalidRequest("table '\(table)' has no sort keys, so it has nothing to query; use get or scan")
        }
        if let limit, limit < 1 { throw .invalidRequest("the limit must be at least 1, not \(limit)") }
        try recoverBeforeReading()
        var result = ReadResult(items: [], problems: [])
        var candidates = try entries(in: layout.partitionFolder(table, partition), table: table, partition: partition, into: &result)
        candidates.removeAll { !condition.matches($0.sort) }
        candidates.sort { descending ? utf8Less($1.sort, $0.sort) : utf8Less($0.sort, $1.sort) }
        for candidate in candidates {
            if let limit, result.items.count >= limit { break }
            if let item = try load(candidate, table: table, partition: partition, into: &result) { result.items.append(item) }
        }
        return result
    }

    /// Every item of `table`, ordered by partition key then sort key. Corrupt or foreign
    /// files are skipped and listed in `problems`.
    public func scan(_ table: String) throws(RegistryError) -> ReadResult {
        try Layout.validateTableName(table)
        try recoverBeforeReading()
        var result = ReadResult(items: [], problems: [])
        guard let hasSortKey = try schema(of: table) else { return result }
        let folder = layout.tableFolder(table)
        var partitions: [(key: String, items: [Item])] = []
        for name in try disk(FileIO.list(folder)) ?? [] where !name.hasPrefix(".") {
            let path = folder + "/" + name
            if hasSortKey {
                let decoded = KeyName.decode(name[...])
                guard FileIO.isDirectory(path), decoded != .foreign else {
                    result.problems.append(.init(path: path, reason: "not a partition folder of this registry"))
                    continue
                }
                // A hashed folder name hides the partition key: then the items tell it.
                let partition: String? = if case .key(let key) = decoded { key } else { nil }
                var items: [Item] = []
                for entry in try entries(in: path, table: table, partition: partition, into: &result) {
                    if let item = try load(entry, table: table, partition: partition, into: &result) { items.append(item) }
                }
                items.sort { utf8Less($0.key.sort!, $1.key.sort!) }
                if let first = items.first { partitions.append((first.key.partition, items)) }
            } else {
                guard KeyName.stem(ofItemFile: name) != nil, !FileIO.isDirectory(path) else {
                    result.problems.append(.init(path: path, reason: "not an item file of this registry"))
                    continue
                }
                if let item = try loadAnywhere(path, table: table, into: &result) { partitions.append((item.key.partition, [item])) }
            }
        }
        partitions.sort { utf8Less($0.key, $1.key) }
        result.items = partitions.flatMap(\.items)
        return result
    }

    /// An item file of a partition folder: its sort key and, when learning the key meant
    /// reading the file, the item read.
    struct Entry {
        var sort: String
        var path: String
        var loaded: Item?
    }

    /// The item files of a partition folder, by sort key; foreign files go to `problems`.
    /// Without `partition` (a hashed folder name) every file is read to learn its key.
    private func entries(
        in folder: String, table: String, partition: String?, into result: inout ReadResult
    ) throws(RegistryError) -> [Entry] {
        var entries: [Entry] = []
        for name in try disk(FileIO.list(folder)) ?? [] where name.utf8.first != UInt8(ascii: ".") {
            let path = folder + "/" + name
            guard let stem = KeyName.stem(ofItemFile: name) else {
                result.problems.append(.init(path: path, reason: "not an item file of this registry"))
                continue
            }
            switch KeyName.decode(stem) {
            case .key(let sort) where partition != nil:
                entries.append(Entry(sort: sort, path: path))
            case .key, .hashed:
                if let item = try loadAnywhere(path, table: table, into: &result), let sort = item.key.sort {
                    entries.append(Entry(sort: sort, path: path, loaded: item))
                }
            case .foreign:
                result.problems.append(.init(path: path, reason: "not an item file of this registry"))
            }
        }
        return entries
    }

    /// The entry's item; nil when it vanished meanwhile or is corrupt (then in `problems`).
    private func load(_ entry: Entry, table: String, partition: String?, into result: inout ReadResult) throws(RegistryError) -> Item? {
        if let loaded = entry.loaded { return loaded }
        do throws(RegistryError) {
            guard let bytes = try disk(FileIO.read(entry.path)) else { return nil }
            return try ItemCodec.decode(bytes, path: entry.path, table: table, key: ItemKey(partition ?? "", entry.sort))
        } catch .corrupt(let path, let reason) {
            result.problems.append(.init(path: path, reason: reason))
            return nil
        }
    }

    /// The item in a file whose name does not tell its whole key: read it, then check that
    /// its key maps to this very path. Nil when it vanished or is corrupt (in `problems`).
    private func loadAnywhere(_ path: String, table: String, into result: inout ReadResult) throws(RegistryError) -> Item? {
        do throws(RegistryError) {
            guard let bytes = try disk(FileIO.read(path)) else { return nil }
            let item = try ItemCodec.decode(bytes, path: path, table: table, key: nil)
            guard layout.itemFile(table, item.key) == path else {
                throw RegistryError.corrupt(path: path, reason: "it holds key \(item.key), which belongs elsewhere")
            }
            return item
        } catch .corrupt(let path, let reason) {
            result.problems.append(.init(path: path, reason: reason))
            return nil
        }
    }
}
