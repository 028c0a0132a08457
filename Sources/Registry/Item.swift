/// The address of an item in a table: a partition key and, in tables that have one, a
/// sort key. Keys are any non-empty UTF-8 strings; they are compared by their bytes.
public struct ItemKey: Sendable, Hashable, CustomStringConvertible {
    /// The partition key.
    public var partition: String
    /// The sort key; nil in tables without one.
    public var sort: String?

    /// A key with a partition key and an optional sort key.
    public init(_ partition: String, _ sort: String? = nil) {
        self.partition = partition
        self.sort = sort
    }

    /// `'pk'` or `'pk'/'sk'`, for messages.
    public var description: String {
        if let sort { return "'\(partition)'/'\(sort)'" }
        return "'\(partition)'"
    }

    public static func == (a: ItemKey, b: ItemKey) -> Bool {
        a.partition.utf8.elementsEqual(b.partition.utf8)
            && (a.sort == nil) == (b.sort == nil)
            && (a.sort ?? "").utf8.elementsEqual((b.sort ?? "").utf8)
    }

    public func hash(into hasher: inout Hasher) {
        for byte in partition.utf8 { hasher.combine(byte) }
        hasher.combine(sort == nil)
        for byte in (sort ?? "").utf8 { hasher.combine(byte) }
    }
}

/// An item as stored: its table, key, version and attributes.
public struct Item: Sendable, Equatable {
    /// The table that holds the item.
    public var table: String
    /// The item's key.
    public var key: ItemKey
    /// Starts at 1 and grows by one on every write.
    public var version: Int
    /// The item's attributes (a JSON object).
    public var attributes: [String: JSONValue]

    /// Creates an item value.
    public init(table: String, key: ItemKey, version: Int, attributes: [String: JSONValue]) {
        self.table = table
        self.key = key
        self.version = version
        self.attributes = attributes
    }

    /// The item as the CLI's `--json` prints it and as it is stored (without the format
    /// field): `{"item": {...}, "pk": ..., "sk": ..., "table": ..., "version": N}`.
    public var json: JSONValue {
        var object: [String: JSONValue] = [
            "table": .string(table),
            "pk": .string(key.partition),
            "version": .int(Int64(version)),
            "item": .object(attributes),
        ]
        if let sort = key.sort { object["sk"] = .string(sort) }
        return .object(object)
    }
}

/// A condition a write requires of the item's current state.
public enum Condition: Sendable, Equatable, CustomStringConvertible {
    /// No condition.
    case none
    /// The item must not exist (`--if-absent`).
    case absent
    /// The item must exist.
    case exists
    /// The item must exist at exactly this version (`--if-version N`).
    case version(Int)

    /// Whether an item currently at `current` (nil: absent) satisfies the condition.
    public func holds(forCurrentVersion current: Int?) -> Bool {
        switch self {
        case .none: return true
        case .absent: return current == nil
        case .exists: return current != nil
        case .version(let v): return current == v
        }
    }

    /// How the CLI spells the condition.
    public var description: String {
        switch self {
        case .none: return "none"
        case .absent: return "--if-absent"
        case .exists: return "--if-exists"
        case .version(let v): return "--if-version \(v)"
        }
    }
}

/// One change of an update: an atomic read-modify-write of top-level attributes.
public enum AttributeChange: Sendable, Equatable {
    /// Sets an attribute to a value.
    case set(String, JSONValue)
    /// Removes an attribute (nothing happens when it is absent).
    case remove(String)
    /// Adds a number to a numeric attribute; an absent attribute counts as 0.
    case add(String, JSONValue)
}

/// Which items of a partition a query returns, by sort key (compared by UTF-8 bytes).
public enum SortKeyCondition: Sendable, Equatable {
    /// Every item of the partition.
    case all
    /// Items whose sort key starts with the prefix.
    case prefix(String)
    /// Items whose sort key is within the range; both ends inclusive, either may be open.
    case range(from: String?, to: String?)

    func matches(_ sortKey: String) -> Bool {
        switch self {
        case .all: return true
        case .prefix(let p): return sortKey.utf8.starts(with: p.utf8)
        case .range(let from, let to):
            if let from, utf8Less(sortKey, from) { return false }
            if let to, utf8Less(to, sortKey) { return false }
            return true
        }
    }
}

/// A file in the registry that could not be read as an item: its path and why.
public struct RegistryProblem: Sendable, Equatable, CustomStringConvertible {
    /// The offending file.
    public var path: String
    /// What is wrong with it.
    public var reason: String

    /// "PATH: REASON".
    public var description: String { "\(path): \(reason)" }
}

/// Items read by a query or a scan, with the files that were skipped because they are
/// corrupt or foreign.
public struct ReadResult: Sendable, Equatable {
    /// The items, ordered by key.
    public var items: [Item]
    /// Files skipped, each with its path and reason.
    public var problems: [RegistryProblem]
}
