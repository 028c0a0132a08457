import Crypto

/// Where things live under the registry folder (format 1):
///
///     format.json                         {"format": 1}
///     tables/TABLE/.table.json            the table's key schema
///     tables/TABLE/.locks/NN              writer lock stripes (flock)
///     tables/TABLE/PK.json                an item of a table without sort keys
///     tables/TABLE/PK/SK.json             an item of a table with sort keys
///     transactions/ID.json                the redo journal of a committing transaction
///
/// Keys become file names by escaping every byte outside `A-Z a-z 0-9 - _ .` (and a
/// leading `.`) as `%XX`, so `../x` is `%2E.%2Fx` and can never leave its folder. A name
/// that would grow past 200 bytes is `~` followed by the SHA-256 of the key; the item file
/// always holds its real key, so nothing is lost and a read checks it.
struct Layout: Sendable {
    let root: String

    var formatFile: String { root + "/format.json" }
    var tablesFolder: String { root + "/tables" }
    var transactionsFolder: String { root + "/transactions" }

    func tableFolder(_ table: String) -> String { tablesFolder + "/" + table }
    func schemaFile(_ table: String) -> String { tableFolder(table) + "/.table.json" }
    func lockFile(_ table: String, stripe: Int) -> String {
        tableFolder(table) + "/.locks/" + String(stripe)
    }
    func partitionFolder(_ table: String, _ partition: String) -> String {
        tableFolder(table) + "/" + KeyName.encode(partition)
    }

    /// The file of the item at `key`.
    func itemFile(_ table: String, _ key: ItemKey) -> String {
        if let sort = key.sort {
            return partitionFolder(table, key.partition) + "/" + KeyName.encode(sort) + ".json"
        }
        return tableFolder(table) + "/" + KeyName.encode(key.partition) + ".json"
    }

    /// Lock stripes per table: writers of items in different stripes never wait for each other.
    static let stripeCount = 64

    /// The lock stripe of an item: a stable (FNV-1a) hash of its key.
    static func stripe(of key: ItemKey) -> Int {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        func mix(_ byte: UInt8) {
            hash ^= UInt64(byte)
            hash = hash &* 0x100_0000_01b3
        }
        key.partition.utf8.forEach(mix)
        mix(0xFF)  // never in UTF-8: separates the two keys
        (key.sort ?? "").utf8.forEach(mix)
        return Int(hash % UInt64(stripeCount))
    }

    /// Checks a table name: 1 to 200 characters of `A-Z a-z 0-9 _ - .`, not starting with `.`.
    static func validateTableName(_ name: String) throws(RegistryError) {
        guard !name.isEmpty, name.utf8.count <= 200 else {
            throw .invalidTableName(name, reason: name.isEmpty ? "it is empty" : "it is longer than 200 bytes")
        }
        guard name.utf8.first != UInt8(ascii: ".") else {
            throw .invalidTableName(name, reason: "it starts with '.'")
        }
        if let bad = name.unicodeScalars.first(where: { !$0.isASCII || !KeyName.isPlain(UInt8($0.value)) }) {
            throw .invalidTableName(name, reason: "character '\(bad)' is not allowed")
        }
    }
}

/// The reversible mapping between keys and file names.
enum KeyName {
    static let maxPlainLength = 200
    private static let hex = Array("0123456789ABCDEF".utf8)

    static func isPlain(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."):
            return true
        default:
            return false
        }
    }

    /// The file name (without `.json`) for a key.
    static func encode(_ key: String) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(key.utf8.count)
        for (offset, byte) in key.utf8.enumerated() {
            if isPlain(byte) && !(offset == 0 && byte == UInt8(ascii: ".")) {
                out.append(byte)
            } else {
                out.append(UInt8(ascii: "%"))
                out.append(hex[Int(byte >> 4)])
                out.append(hex[Int(byte & 0xF)])
            }
            if out.count > maxPlainLength { return hashed(key) }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// The name of a long key: `~` and the SHA-256 of its bytes in hex.
    static func hashed(_ key: String) -> String {
        "~" + SHA256.hash(data: Array(key.utf8)).map { byte in
            String(decoding: [hex[Int(byte >> 4)], hex[Int(byte & 0xF)]], as: UTF8.self)
        }.joined().lowercased()
    }

    enum Decoded: Equatable {
        /// The key the name stands for.
        case key(String)
        /// A hashed name: the key is only in the file.
        case hashed
        /// Not a name the registry writes.
        case foreign
    }

    /// The name without its `.json` suffix, or nil when it has none.
    static func stem(ofItemFile name: String) -> Substring? {
        let utf8 = name.utf8
        guard utf8.count > 5, utf8.reversed().starts(with: "nosj.".utf8) else { return nil }
        return name[..<utf8.index(utf8.endIndex, offsetBy: -5)]
    }

    /// The key a file name (without `.json`) stands for.
    static func decode(_ name: Substring) -> Decoded {
        if name.first == "~" {
            return name.count == 65 ? .hashed : .foreign
        }
        // Fast path: a name without escapes is its own key.
        if !name.isEmpty, name.utf8.first != UInt8(ascii: "."), name.utf8.count <= maxPlainLength,
            name.utf8.allSatisfy(isPlain)
        {
            return .key(String(name))
        }
        var bytes: [UInt8] = []
        var iterator = name.utf8.makeIterator()
        while let byte = iterator.next() {
            if byte == UInt8(ascii: "%") {
                guard let high = iterator.next().flatMap(hexValue), let low = iterator.next().flatMap(hexValue) else {
                    return .foreign
                }
                bytes.append(high << 4 | low)
            } else if isPlain(byte) {
                bytes.append(byte)
            } else {
                return .foreign
            }
        }
        guard !bytes.isEmpty, let key = String(validating: bytes, as: UTF8.self), encode(key) == name else {
            return .foreign
        }
        return .key(key)
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return byte - UInt8(ascii: "0")
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return byte - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
}
