/// The bridge between `JSONValue` and `Codable` types, without text in between: a typed
/// contract (a stage's prepared input, a record) is encoded into the `JSONValue` that a
/// registry item or a state's output holds, and decoded back with an error that names the
/// field at fault.
///
/// Numbers keep their kind: a `Double` is written as `.double` (even `2.0`), an integer as
/// `.int`. A `nil` optional is written as `null`, as Slipway's records always have, so a
/// JSONPath that reads the field finds it; missing and `null` both decode as `nil`.
extension JSONValue {
    /// `value` as a JSON value.
    public init<T: Encodable>(encoding value: T) throws {
        if let json = value as? JSONValue {
            self = json
            return
        }
        let node = EncodingNode()
        try value.encode(to: ValueEncoder(node: node, codingPath: []))
        self = node.json
    }

    /// This value as a `T`; a `JSONDecodingError` names the field that is missing or has
    /// the wrong kind of value.
    public func decode<T: Decodable>(_ type: T.Type = T.self) throws(JSONDecodingError) -> T {
        do {
            return try ValueDecoder(value: self, codingPath: []).decodeValue(T.self)
        } catch let error as DecodingError {
            throw JSONDecodingError(error)
        } catch let error as JSONDecodingError {
            throw error
        } catch {
            throw JSONDecodingError(path: "", problem: "\(error)")
        }
    }
}

/// Why a JSON value could not be decoded as a type: the field (a path such as
/// `stages.train.cpus` or `gates[0].metric`) and what is wrong with it.
public struct JSONDecodingError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The dotted path of the field at fault; empty for the value as a whole.
    public var path: String
    /// What is wrong: "is missing", "should be a number, not a string", ...
    public var problem: String

    /// An error about the field at `path`.
    public init(path: String, problem: String) {
        self.path = path
        self.problem = problem
    }

    /// The error a `Decodable` type threw, with its coding path as a dotted path.
    public init(_ error: DecodingError) {
        switch error {
        case .keyNotFound(let key, let context):
            self.init(path: Self.path(context.codingPath + [key]), problem: "is missing")
        case .typeMismatch(_, let context), .valueNotFound(_, let context), .dataCorrupted(let context):
            self.init(path: Self.path(context.codingPath), problem: context.debugDescription)
        @unknown default:
            self.init(path: "", problem: "\(error)")
        }
    }

    /// `a.b[0].c` for a coding path.
    public static func path(_ keys: [any CodingKey]) -> String {
        var text = ""
        for key in keys {
            if let index = key.intValue, key.stringValue == "Index \(index)" {
                text += "[\(index)]"
            } else {
                text += (text.isEmpty ? "" : ".") + key.stringValue
            }
        }
        return text
    }

    /// "'stages.train.cpus' should be a number, not a string", or the problem alone.
    public var description: String { path.isEmpty ? problem : "'\(path)' \(problem)" }
}

extension JSONValue: Codable {
    /// Decodes any JSON value (from this module's decoder, or from another such as `JSONDecoder`).
    public init(from decoder: any Decoder) throws {
        if let decoder = decoder as? ValueDecoder {
            self = decoder.value
            return
        }
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Int64.self) {
            self = .int(value)
        } else if let value = try? container.decode(Double.self) {
            self = .double(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode([JSONValue].self) {
            self = .array(value)
        } else {
            self = .object(try container.decode([String: JSONValue].self))
        }
    }

    /// Encodes the value as it is (to this module's encoder, or to another).
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case .bool(let value): try container.encode(value)
        case .int(let value): try container.encode(value)
        case .double(let value): try container.encode(value)
        case .string(let value): try container.encode(value)
        case .array(let value): try container.encode(value)
        case .object(let value): try container.encode(value)
        }
    }
}

/// The key of an array element in a coding path.
struct IndexKey: CodingKey {
    var intValue: Int?
    var stringValue: String
    init(_ index: Int) {
        intValue = index
        stringValue = "Index \(index)"
    }
    init?(intValue: Int) { self.init(intValue) }
    init?(stringValue: String) { return nil }
}
