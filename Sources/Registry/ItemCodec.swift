/// The bytes of an item file: canonical, pretty JSON a person can `cat`:
///
///     {
///       "format": 1,
///       "item": { ...attributes... },
///       "pk": "demand",
///       "sk": "build-0001",
///       "table": "builds",
///       "version": 3
///     }
enum ItemCodec {
    static func encode(_ item: Item) -> [UInt8] {
        guard case .object(var object) = item.json else { preconditionFailure("Item.json is an object") }
        object["format"] = .int(Int64(Registry.formatVersion))
        return JSONValue.object(object).serializedBytes(pretty: true) + [0x0A]
    }

    /// Parses an item file. When `key` is given, the file must hold that key (a hashed
    /// file name holds the key only inside the file).
    static func decode(_ bytes: [UInt8], path: String, table: String, key: ItemKey?) throws(RegistryError) -> Item {
        let value: JSONValue
        do {
            value = try JSONValue(parsing: bytes)
        } catch {
            throw .corrupt(path: path, reason: bytes.isEmpty ? "the file is empty" : "not JSON: \(error)")
        }
        guard case .object(let object) = value else {
            throw .corrupt(path: path, reason: "expected a JSON object, found \(value.kindName)")
        }
        guard let format = object["format"]?.intValue, format == Registry.formatVersion else {
            throw .corrupt(path: path, reason: "missing or unknown \"format\" (expected \(Registry.formatVersion))")
        }
        guard let partition = object["pk"]?.stringValue else { throw .corrupt(path: path, reason: "missing string \"pk\"") }
        let sort: String?
        switch object["sk"] {
        case nil: sort = nil
        case .string(let s)?: sort = s
        case let other?: throw .corrupt(path: path, reason: "\"sk\" is a \(other.kindName), not a string")
        }
        guard let version = object["version"]?.intValue, version >= 1 else {
            throw .corrupt(path: path, reason: "missing or invalid \"version\"")
        }
        guard case .object(let attributes)? = object["item"] else {
            throw .corrupt(path: path, reason: "missing object \"item\"")
        }
        let stored = ItemKey(partition, sort)
        if let key, key != stored {
            throw .corrupt(path: path, reason: "it holds key \(stored), not \(key)")
        }
        return Item(table: table, key: stored, version: Int(version), attributes: attributes)
    }
}
