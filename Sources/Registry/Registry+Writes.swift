import Home
extension Registry {
    /// Writes the item at `key` with `attributes`, replacing it whole, when `condition`
    /// holds; returns the item as stored (its version is the previous one plus 1).
    @discardableResult
    public func put(
        _ table: String, _ key: ItemKey, _ attributes: [String: JSONValue], condition: Condition = .none
    ) throws(RegistryError) -> Item {
        try mutate(table, key) { current throws(RegistryError) in
            try check(condition, table, key, current)
            return attributes
        }!
    }

    /// Applies `changes` to the item's attributes in one atomic read-modify-write, creating
    /// the item when it does not exist (like DynamoDB's UpdateItem); returns it as stored.
    @discardableResult
    public func update(
        _ table: String, _ key: ItemKey, _ changes: [AttributeChange], condition: Condition = .none
    ) throws(RegistryError) -> Item {
        try mutate(table, key) { current throws(RegistryError) in
            try check(condition, table, key, current)
            return try Self.apply(changes, to: current?.attributes ?? [:], table: table, key: key)
        }!
    }

    /// Deletes the item at `key` when `condition` holds; returns the deleted item, or nil
    /// when there was none.
    @discardableResult
    public func delete(_ table: String, _ key: ItemKey, condition: Condition = .none) throws(RegistryError) -> Item? {
        try Layout.validateTableName(table)
        guard try schema(of: table) != nil else {
            // No table, no item: nothing to lock, and no table to create.
            if key.partition.isEmpty || key.sort?.isEmpty == true {
                throw .invalidKey(table: table, key: key, reason: "a key is empty")
            }
            try check(condition, table, key, nil)
            return nil
        }
        var deleted: Item?
        _ = try mutate(table, key) { current throws(RegistryError) in
            try check(condition, table, key, current)
            deleted = current
            return nil
        }
        return deleted
    }

    /// The one path of every single-item write: lock the item's stripe, finish any dead
    /// transaction that touched it, read it, let `body` decide its new attributes (nil:
    /// delete), and write the result durably.
    func mutate(
        _ table: String, _ key: ItemKey, _ body: (Item?) throws(RegistryError) -> [String: JSONValue]?
    ) throws(RegistryError) -> Item? {
        try ensureTable(table, for: key)
        let stripe = Stripe(table: table, index: Layout.stripe(of: key))
        let locks = try lock([stripe])
        defer { withExtendedLifetime(locks) {} }
        try recoverTransactions(touching: [stripe])

        let path = layout.itemFile(table, key)
        let current = try readItem(table, key)
        guard let attributes = try body(current) else {
            if current != nil {
                try disk(FileIO.remove(path))
                try disk(FileIO.syncDirectory(FileIO.parent(of: path)))
            }
            return nil
        }
        let item = Item(table: table, key: key, version: (current?.version ?? 0) + 1, attributes: attributes)
        if key.sort != nil { try ensureFolder(FileIO.parent(of: path)) }
        try disk(FileIO.writeDurably(ItemCodec.encode(item), to: path))
        return item
    }

    /// Throws `.conditionFailed` unless `condition` holds for `current`.
    func check(_ condition: Condition, _ table: String, _ key: ItemKey, _ current: Item?) throws(RegistryError) {
        guard condition.holds(forCurrentVersion: current?.version) else {
            throw .conditionFailed(table: table, key: key, condition: condition, current: current?.version)
        }
    }

    /// Locks the given stripes in a global order (table, then index), so that writers that
    /// need several stripes can never deadlock.
    func lock(_ stripes: Set<Stripe>) throws(RegistryError) -> [FileLock] {
        var locks: [FileLock] = []
        for stripe in stripes.sorted() {
            locks.append(try disk(FileLock(path: layout.lockFile(stripe.table, stripe: stripe.index), timeout: options.lockTimeout)))
        }
        return locks
    }

    /// The attributes after `changes`; an `add` to a non-number is an error naming it.
    static func apply(
        _ changes: [AttributeChange], to attributes: [String: JSONValue], table: String, key: ItemKey
    ) throws(RegistryError) -> [String: JSONValue] {
        var result = attributes
        for change in changes {
            switch change {
            case .set(let name, let value):
                result[name] = value
            case .remove(let name):
                result[name] = nil
            case .add(let name, let amount):
                let current = result[name] ?? .int(0)
                switch (current, amount) {
                case (.int(let a), .int(let b)):
                    let (sum, overflow) = a.addingReportingOverflow(b)
                    result[name] = overflow ? .double(Double(a) + Double(b)) : .int(sum)
                case (.int, .double), (.double, .int), (.double, .double):
                    result[name] = .double(current.doubleValue! + amount.doubleValue!)
                default:
                    let what = amount.doubleValue == nil ? "the amount is a \(amount.kindName)" : "it holds a \(current.kindName)"
                    throw .invalidRequest(
                        "cannot add \(amount) to attribute '\(name)' of item \(key) in table '\(table)': \(what); use --set to replace it")
                }
            }
        }
        return result
    }
}

/// One lock stripe of one table.
struct Stripe: Hashable, Comparable, Sendable {
    var table: String
    var index: Int

    static func < (a: Stripe, b: Stripe) -> Bool {
        a.table == b.table ? a.index < b.index : utf8Less(a.table, b.table)
    }
}
