import Crypto
import Foundation
import JSON

/// An intrinsic function call, such as `States.Format('Hello {}', $.name)`, as it may
/// appear as the value of a `.$` field.
package indirect enum Intrinsic: Sendable, Equatable {
    /// A function and its arguments.
    case call(name: String, arguments: [Argument])

    /// One argument: a literal, a path (`$.x` or `$$.x`), or a nested call.
    package enum Argument: Sendable, Equatable {
        case literal(JSONValue)
        case path(JSONPath)
        case call(Intrinsic)
    }

    /// Every intrinsic function with its allowed argument counts.
    package static let arities: [String: ClosedRange<Int>] = [
        "States.Format": 1...Int.max, "States.StringToJson": 1...1, "States.JsonToString": 1...1,
        "States.Array": 0...Int.max, "States.ArrayPartition": 2...2, "States.ArrayContains": 2...2,
        "States.ArrayRange": 3...3, "States.ArrayGetItem": 2...2, "States.ArrayLength": 1...1,
        "States.ArrayUnique": 1...1, "States.Base64Encode": 1...1, "States.Base64Decode": 1...1,
        "States.Hash": 2...2, "States.JsonMerge": 3...3, "States.MathRandom": 2...3, "States.MathAdd": 2...2,
        "States.StringSplit": 2...2, "States.UUID": 0...0,
    ]

    /// Whether a `.$` value is an intrinsic call rather than a path.
    package static func looksLikeCall(_ text: String) -> Bool { text.hasPrefix("States.") }

    /// Parses a call and checks every function name and argument count in it.
    package init(_ text: String) throws(IntrinsicError) {
        var parser = IntrinsicParser(text: text)
        self = try parser.parseCall()
        parser.skipSpaces()
        guard parser.index == parser.chars.count else { throw parser.fail("unexpected text after the call") }
    }

    /// Evaluates the call; `input` and `context` resolve `$` and `$$` arguments.
    package func evaluate(input: JSONValue, context: JSONValue) throws(IntrinsicError) -> JSONValue {
        guard case .call(let name, let arguments) = self else { preconditionFailure() }
        var values: [JSONValue] = []
        for argument in arguments {
            switch argument {
            case .literal(let value): values.append(value)
            case .path(let path):
                guard let value = path.evaluate(in: path.root == .context ? context : input) else {
                    throw IntrinsicError(message: "\(name): the path '\(path)' matches nothing in the input")
                }
                values.append(value)
            case .call(let inner): values.append(try inner.evaluate(input: input, context: context))
            }
        }
        return try Self.apply(name, values)
    }
}

/// A call that does not parse, or that fails when it runs (`States.IntrinsicFailure`).
package struct IntrinsicError: Error, Sendable, Equatable, CustomStringConvertible {
    package var message: String
    package var description: String { message }
}

extension Intrinsic {
    static func apply(_ name: String, _ args: [JSONValue]) throws(IntrinsicError) -> JSONValue {
        func fail(_ message: String) -> IntrinsicError { IntrinsicError(message: "\(name): \(message)") }
        func string(_ i: Int) throws(IntrinsicError) -> String {
            guard case .string(let s) = args[i] else { throw fail("argument \(i + 1) must be a string, not \(args[i].kindName)") }
            return s
        }
        func integer(_ i: Int) throws(IntrinsicError) -> Int64 {
            guard let n = args[i].intValue else { throw fail("argument \(i + 1) must be an integer, not \(args[i])") }
            return n
        }
        func array(_ i: Int) throws(IntrinsicError) -> [JSONValue] {
            guard case .array(let a) = args[i] else { throw fail("argument \(i + 1) must be an array, not \(args[i].kindName)") }
            return a
        }
        switch name {
        case "States.Format":
            let template = try string(0)
            var output = ""
            var rest = args.dropFirst().makeIterator()
            var chars = template.makeIterator()
            var placeholders = 0
            while let c = chars.next() {
                if c == "\\", let next = chars.next() { output.append(next); continue }
                if c == "{" {
                    guard chars.next() == "}" else { throw fail("'{' must be followed by '}' (escape a brace as \\\\{)") }
                    placeholders += 1
                    guard let value = rest.next() else { throw fail("the template has more {} than arguments") }
                    switch value {
                    case .string(let s): output += s
                    case .array, .object: throw fail("arguments must be strings, numbers, booleans or null, not \(value.kindName)")
                    default: output += value.serialized()
                    }
                    continue
                }
                output.append(c)
            }
            guard placeholders == args.count - 1 else { throw fail("the template has \(placeholders) {} but \(args.count - 1) arguments follow it") }
            return .string(output)
        case "States.StringToJson":
            do { return try JSONValue(parsing: try string(0)) } catch let error as JSONSyntaxError {
                throw fail("the string is not JSON: \(error)")
            } catch { throw fail("\(error)") }
        case "States.JsonToString":
            return .string(args[0].serialized())
        case "States.Array":
            return .array(args)
        case "States.ArrayPartition":
            let elements = try array(0)
            let size = try integer(1)
            guard size > 0 else { throw fail("the chunk size must be more than 0, not \(size)") }
            return .array(stride(from: 0, to: elements.count, by: Int(size)).map { .array(Array(elements[$0..<min($0 + Int(size), elements.count)])) })
        case "States.ArrayContains":
            return .bool(try array(0).contains(args[1]))
        case "States.ArrayRange":
            let (start, end, step) = (try integer(0), try integer(1), try integer(2))
            guard step != 0 else { throw fail("the step must not be 0") }
            let span = end.subtractingReportingOverflow(start)
            let count = span.overflow || (span.partialValue != 0 && (span.partialValue < 0) != (step < 0)) ? 0 : span.partialValue / step + 1
            guard count <= 1000 else { throw fail("the range has \(count) elements; at most 1000 are allowed") }
            return .array(Array(stride(from: start, through: end, by: Int(step))).map { .int($0) })
        case "States.ArrayGetItem":
            let elements = try array(0)
            let index = try integer(1)
            guard index >= 0, index < elements.count else { throw fail("index \(index) is out of bounds for an array of \(elements.count)") }
            return elements[Int(index)]
        case "States.ArrayLength":
            return .int(Int64(try array(0).count))
        case "States.ArrayUnique":
            var seen: [JSONValue] = []
            for element in try array(0) where !seen.contains(element) { seen.append(element) }
            return .array(seen)
        case "States.Base64Encode":
            let text = try string(0)
            guard text.count <= 10_000 else { throw fail("the string is longer than 10000 characters") }
            return .string(Data(text.utf8).base64EncodedString())
        case "States.Base64Decode":
            guard let data = Data(base64Encoded: try string(0)) else { throw fail("the string is not base64") }
            guard let text = String(data: data, encoding: .utf8) else { throw fail("the decoded bytes are not UTF-8 text") }
            return .string(text)
        case "States.Hash":
            let data: [UInt8]
            if case .string(let s) = args[0] { data = Array(s.utf8) } else { data = Array(args[0].serialized().utf8) }
            let hex: (any Sequence<UInt8>) -> String = { $0.map { String(format: "%02x", $0) }.joined() }
            switch try string(1) {
            case "MD5": return .string(hex(Insecure.MD5.hash(data: data)))
            case "SHA-1": return .string(hex(Insecure.SHA1.hash(data: data)))
            case "SHA-256": return .string(hex(SHA256.hash(data: data)))
            case "SHA-384": return .string(hex(SHA384.hash(data: data)))
            case "SHA-512": return .string(hex(SHA512.hash(data: data)))
            case let other: throw fail("unknown algorithm '\(other)'; use MD5, SHA-1, SHA-256, SHA-384 or SHA-512")
            }
        case "States.JsonMerge":
            guard case .object(let left) = args[0], case .object(let right) = args[1] else { throw fail("the first two arguments must be objects") }
            guard args[2] == .bool(false) else { throw fail("only shallow merges are supported: the third argument must be false") }
            return .object(left.merging(right) { $1 })
        case "States.MathRandom":
            let (start, end) = (try integer(0), try integer(1))
            guard start < end else { throw fail("the start (\(start)) must be less than the end (\(end))") }
            if args.count == 3 {
                var generator = SeededGenerator(seed: UInt64(bitPattern: try integer(2)))
                return .int(Int64.random(in: start..<end, using: &generator))
            }
            return .int(Int64.random(in: start..<end))
        case "States.MathAdd":
            let (sum, overflow) = try integer(0).addingReportingOverflow(try integer(1))
            guard !overflow else { throw fail("the sum overflows") }
            return .int(sum)
        case "States.StringSplit":
            let delimiters = Set(try string(1))
            return .array(try string(0).split(whereSeparator: { delimiters.contains($0) }).map { .string(String($0)) })
        case "States.UUID":
            return .string(UUID().uuidString.lowercased())
        default:
            throw fail("unknown intrinsic function")
        }
    }
}

extension Intrinsic {
    /// Lowercase hex SHA-256 of a string's UTF-8 bytes.
    static func hexSHA256(_ text: String) -> String {
        SHA256.hash(data: Array(text.utf8)).map { String(format: "%02x", $0) }.joined()
    }
}

/// A small deterministic generator for `States.MathRandom` with a seed (SplitMix64).
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

struct IntrinsicParser {
    let text: String
    let chars: [Character]
    var index = 0

    init(text: String) {
        self.text = text
        chars = Array(text)
    }

    func fail(_ message: String) -> IntrinsicError { IntrinsicError(message: "invalid intrinsic call '\(text)': \(message)") }

    mutating func skipSpaces() { while index < chars.count, chars[index] == " " { index += 1 } }

    mutating func parseCall() throws(IntrinsicError) -> Intrinsic {
        skipSpaces()
        let start = index
        while index < chars.count, chars[index].isLetter || chars[index].isNumber || chars[index] == "." { index += 1 }
        let name = String(chars[start..<index])
        guard let arity = Intrinsic.arities[name] else {
            let known = Intrinsic.arities.keys.sorted().joined(separator: ", ")
            throw fail("unknown function '\(name)'; known functions: \(known)")
        }
        skipSpaces()
        guard index < chars.count, chars[index] == "(" else { throw fail("expected '(' after \(name)") }
        index += 1
        var arguments: [Intrinsic.Argument] = []
        skipSpaces()
        if index < chars.count, chars[index] == ")" {
            index += 1
        } else {
            while true {
                // States.Format's template keeps its escapes (\{, \}, \\) for Format to read.
                arguments.append(try parseArgument(keepEscapes: name == "States.Format" && arguments.isEmpty))
                skipSpaces()
                guard index < chars.count else { throw fail("expected ')' to close \(name)") }
                if chars[index] == "," { index += 1; continue }
                if chars[index] == ")" { index += 1; break }
                throw fail("expected ',' or ')' at position \(index + 1)")
            }
        }
        guard arity.contains(arguments.count) else {
            let expected = arity.upperBound == Int.max ? "at least \(arity.lowerBound)" : arity.count == 1 ? "\(arity.lowerBound)" : "\(arity.lowerBound) to \(arity.upperBound)"
            throw fail("\(name) takes \(expected) argument\(arity.upperBound == 1 ? "" : "s"), not \(arguments.count)")
        }
        return .call(name: name, arguments: arguments)
    }

    mutating func parseArgument(keepEscapes: Bool) throws(IntrinsicError) -> Intrinsic.Argument {
        skipSpaces()
        guard index < chars.count else { throw fail("expected an argument") }
        let c = chars[index]
        if c == "'" {
            index += 1
            var value = ""
            while index < chars.count, chars[index] != "'" {
                if chars[index] == "\\", index + 1 < chars.count {
                    let next = chars[index + 1]
                    if keepEscapes && next != "'" { value.append("\\") }
                    value.append(next)
                    index += 2
                    continue
                }
                value.append(chars[index])
                index += 1
            }
            guard index < chars.count else { throw fail("unterminated string") }
            index += 1
            return .literal(.string(value))
        }
        if c == "$" {
            let start = index
            var depth = 0
            while index < chars.count {
                let ch = chars[index]
                if ch == "[" || ch == "(" { depth += 1 }
                if ch == "]" || ch == ")" {
                    if depth == 0 { break }
                    depth -= 1
                }
                if ch == "," && depth == 0 { break }
                index += 1
            }
            let raw = String(chars[start..<index]).trimmingSpaces
            do { return .path(try JSONPath(raw)) } catch { throw fail(error.description) }
        }
        if c.isLetter && text[text.index(text.startIndex, offsetBy: index)...].hasPrefix("States.") {
            return .call(try parseCall())
        }
        let start = index
        while index < chars.count, chars[index] != ",", chars[index] != ")" { index += 1 }
        let raw = String(chars[start..<index]).trimmingSpaces
        guard let value = try? JSONValue(parsing: raw), value.arrayValue == nil, value.objectValue == nil else {
            throw fail("argument '\(raw)' is not a 'string', a number, true, false, null, a path or a call")
        }
        return .literal(value)
    }
}
