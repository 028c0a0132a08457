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
        var result = ReadResult(items: [], problems: [])
        guard let hasSortKey = try schema(of: table) else { return result }
        let folder = layout.tableFolder(table)
        var partitions: [(key: String, items: [Item])] = []
        for name in try FileIO.list(folder) ?? [] where !name.hasPrefix(".") {
            let path = folder + "/" + name
            if hasSortKey {
                guard FileIO.isDirectory(path), case .key(let partition) = KeyName.decode(name[...]) else {
                    result.problems.append(.init(path: path, reason: "not a partition folder of this registry"))
                    continue
                }
                var items: [Item] = []
                for candidate in try entries(in: path, table: table, partition: partition, into: &result) {
                    if let item = try load(candidate, table: table, partition: partition, into: &result) { items.append(item) }
                }
                items.sort { utf8Less($0.key.sort!, $1.key.sort!) }
                partitions.append((partition, items))
            } else {
                guard name.hasSuffix(".json"), !FileIO.isDirectory(path) else {
                    result.problems.append(.init(path: path, reason: "not an item file of this registry"))
                    continue
                }
                do throws(RegistryError) {
                    guard let bytes = try FileIO.read(path) else { continue }
                    let item = try ItemCodec.decode(bytes, path: path, table: table, key: nil)
                    guard item.key.sort == nil, layout.itemFile(table, item.key) == path else {
                        throw RegistryError.corrupt(path: path, reason: "it holds key \(item.key), which belongs elsewhere")
                    }
                    partitions.append((item.key.partition, [item]))
                } catch .corrupt(let path, let reason) {
                    result.problems.append(.init(path: path, reason: reason))
                }
            }
        }
        partitions.sort { utf8Less($0.key, $1.key) }
        result.items = partitions.flatMap(\.items)
        return result
    }

    /// An item file of a partition folder: its sort key and, when the name is hashed, the
    /// item already read to learn it.
    struct Entry {
        var sort: String
        var path: String
        var loaded: Item?
    }

    /// The item files of a partition folder, by sort key; foreign files go to `problems`.
    private func entries(
        in folder: String, table: String, partition: String, into result: inout ReadResult
    ) throws(RegistryError) -> [Entry] {
        var entries: [Entry] = []
        for name in try FileIO.list(folder) ?? [] where name.utf8.first != UInt8(ascii: ".") {
            guard let stem = KeyName.stem(ofItemFile: name) else {
                result.problems.append(.init(path: folder + "/" + name, reason: "not an item file of this registry"))
                continue
            }
            let path = folder + "/" + name
            switch KeyName.decode(stem) {
            case .key(let sort):
                entries.append(Entry(sort: sort, path: path))
            case .hashed:
                do throws(RegistryError) {
                    guard let bytes = try FileIO.read(path) else { continue }
                    let item = try ItemCodec.decode(bytes, path: path, table: table, key: nil)
                    guard let sort = item.key.sort, layout.itemFile(table, item.key) == path else {
                        throw RegistryError.corrupt(path: path, reason: "it holds key \(item.key), which belongs elsewhere")
                    }
                    entries.append(Entry(sort: sort, path: path, loaded: item))
                } catch .corrupt(let path, let reason) {
                    result.problems.append(.init(path: path, reason: reason))
                }
            case .foreign:
                result.problems.append(.init(path: path, reason: "not an item file of this registry"))
            }
        }
        return entries
    }

    /// The entry's item; nil when it vanished meanwhile or is corrupt (then in `problems`).
    private func load(_ entry: Entry, table: String, partition: String, into result: inout ReadResult) throws(RegistryError) -> Item? {
        if let loaded = entry.loaded { return loaded }
        do throws(RegistryError) {
            guard let bytes = try FileIO.read(entry.path) else { return nil }
            return try ItemCodec.decode(bytes, path: entry.path, table: table, key: nil).checked(at: entry.path, ItemKey(partition, entry.sort))
        } catch .corrupt(let path, let reason) {
            result.problems.append(.init(path: path, reason: reason))
            return nil
        }
    }
}

extension Item {
    /// Self, when its stored key is the one its path says.
    fileprivate func checked(at path: String, _ expected: ItemKey) throws(RegistryError) -> Item {
        guard key == expected else {
            throw .corrupt(path: path, reason: "it holds key \(key), but its path says \(expected)")
        }
        return self
    }
}
