extension TransactionWrite {
    /// Decodes the transaction file format of `slipway registry transact --file F`: a JSON
    /// array of writes, each an object with `"op"` (`put`, `update`, `delete`, `check`),
    /// `"table"`, `"pk"`, optional `"sk"`, a condition (`"ifAbsent": true`,
    /// `"ifExists": true` or `"ifVersion": N`), and per op: `"item"` (put); `"set"`
    /// (object), `"remove"` (array of names), `"add"` (object of numbers) (update).
    ///
    /// Every problem is reported at once, each with the JSON pointer of the offending field.
    public static func decodeList(_ value: JSONValue) throws(RegistryError) -> [TransactionWrite] {
        guard case .array(let elements) = value else {
            throw .invalidRequest("a transaction file holds a JSON array of writes, not a \(value.kindName)")
        }
        var problems: [String] = []
        var writes: [TransactionWrite] = []
        for (index, element) in elements.enumerated() {
            if let write = decode(element, at: "/\(index)", problems: &problems) { writes.append(write) }
        }
        guard problems.isEmpty else {
            throw .invalidRequest("invalid transaction:\n" + problems.map { "  " + $0 }.joined(separator: "\n"))
        }
        return writes
    }

    private static let knownFields: [String: Set<String>] = [
        "put": ["item"], "update": ["set", "remove", "add"], "delete": [], "check": [],
    ]

    private static func decode(_ value: JSONValue, at pointer: String, problems: inout [String]) -> TransactionWrite? {
        guard case .object(let fields) = value else {
            problems.append("\(pointer): expected an object, found \(value.kindName)")
            return nil
        }
        let before = problems.count
        let op = fields["op"]?.stringValue ?? ""
        guard let opFields = knownFields[op] else {
            problems.append("\(pointer)/op: expected one of put, update, delete, check; found \(fields["op"]?.serialized() ?? "nothing")")
            return nil
        }
        let common: Set<String> = ["op", "table", "pk", "sk", "ifAbsent", "ifExists", "ifVersion"]
        for name in fields.keys.sorted() where !common.contains(name) && !opFields.contains(name) {
            problems.append("\(pointer)/\(name): unknown field for op '\(op)'; expected \((common.union(opFields)).sorted().joined(separator: ", "))")
        }
        let table = fields["table"]?.stringValue
        if table == nil { problems.append("\(pointer)/table: expected a string") }
        let partition = fields["pk"]?.stringValue
        if partition == nil { problems.append("\(pointer)/pk: expected a string") }
        var sort: String?
        if let sk = fields["sk"] {
            sort = sk.stringValue
            if sort == nil { problems.append("\(pointer)/sk: expected a string, found \(sk.kindName)") }
        }
        var conditions: [Condition] = []
        for (name, condition) in [("ifAbsent", Condition.absent), ("ifExists", .exists)] {
            guard let flag = fields[name] else { continue }
            guard case .bool(let on) = flag else {
                problems.append("\(pointer)/\(name): expected true or false, found \(flag)")
                continue
            }
            if on { conditions.append(condition) }
        }
        if let v = fields["ifVersion"] {
            if let n = v.intValue, n >= 1 { conditions.append(.version(Int(n))) }
            else { problems.append("\(pointer)/ifVersion: expected a positive integer, found \(v)") }
        }
        if conditions.count > 1 { problems.append("\(pointer): give at most one of ifAbsent, ifExists, ifVersion") }

        var write: TransactionWrite?
        if let table, let partition {
            let key = ItemKey(partition, sort)
            let condition = conditions.first ?? .none
            switch op {
            case "put":
                if case .object(let item)? = fields["item"] {
                    write = .put(table: table, key: key, attributes: item, condition: condition)
                } else {
                    problems.append("\(pointer)/item: expected an object")
                }
            case "update":
                let changes = decodeChanges(fields, at: pointer, problems: &problems)
                write = .update(table: table, key: key, changes: changes, condition: condition)
            case "delete":
                write = .delete(table: table, key: key, condition: condition)
            default:
                write = .check(table: table, key: key, condition: condition)
            }
        }
        return problems.count == before ? write : nil
    }

    private static func decodeChanges(_ fields: [String: JSONValue], at pointer: String, problems: inout [String]) -> [AttributeChange] {
        var changes: [AttributeChange] = []
        if let set = fields["set"] {
            if case .object(let values) = set {
                changes += values.keys.sorted(by: utf8Less).map { .set($0, values[$0]!) }
            } else {
                problems.append("\(pointer)/set: expected an object of attribute values")
            }
        }
        if let remove = fields["remove"] {
            if let names = remove.arrayValue?.compactMap(\.stringValue), names.count == remove.arrayValue?.count {
                changes += names.map { .remove($0) }
            } else {
                problems.append("\(pointer)/remove: expected an array of attribute names")
            }
        }
        if let add = fields["add"] {
            if case .object(let amounts) = add {
                for name in amounts.keys.sorted(by: utf8Less) {
                    if amounts[name]!.doubleValue == nil {
                        problems.append("\(pointer)/add/\(name): expected a number, found \(amounts[name]!.kindName)")
                    } else {
                        changes.append(.add(name, amounts[name]!))
                    }
                }
            } else {
                problems.append("\(pointer)/add: expected an object of numbers")
            }
        }
        if changes.isEmpty && fields["set"] == nil && fields["remove"] == nil && fields["add"] == nil {
            problems.append("\(pointer): an update needs at least one of set, remove, add")
        }
        return changes
    }
}
