import Testing
@testable import JSON

@Suite struct JSONValueTests {
    @Test func parsesEveryKindOfValue() throws {
        let value = try JSONValue(parsing: #" { "a": [1, -2.5, 3e2, true, false, null], "b": {"c": "d"}, "e": "" } "#)
        #expect(value == ["a": [1, -2.5, 300.0, true, false, nil], "b": ["c": "d"], "e": ""])
    }

    @Test func keepsLargeIntegersExact() throws {
        #expect(try JSONValue(parsing: "9007199254740993") == .int(9_007_199_254_740_993))
        #expect(try JSONValue(parsing: "-9223372036854775808") == .int(Int64.min))
        #expect(try JSONValue(parsing: "9223372036854775808") == .double(9_223_372_036_854_775_808))
    }

    @Test func decodesEscapesAndSurrogatePairs() throws {
        let value = try JSONValue(parsing: #""a\"b\\c\/d\n\t\u00e9\ud83d\ude80""#)
        #expect(value == .string("a\"b\\c/d\n\té🚀"))
    }

    @Test func serialisesCanonicallyWithKeysSortedByBytes() {
        let value: JSONValue = ["b": 1, "a": ["z": true, "é": nil, "Z": 1.5], "ctl": "\u{01}\"\n"]
        #expect(value.serialized() == #"{"a":{"Z":1.5,"z":true,"é":null},"b":1,"ctl":"\u0001\"\n"}"#)
    }

    @Test func roundTripsThroughPrettyText() throws {
        let value: JSONValue = ["list": [1, 2, ["x": "🚀 ../a/b"]], "empty": [:], "none": [], "n": -0.125]
        #expect(try JSONValue(parsing: value.serialized(pretty: true)) == value)
        #expect(try JSONValue(parsing: value.serialized()) == value)
    }

    @Test(arguments: [
        ("", "unexpected end of JSON"),
        ("{", "expected a string key in object"),
        ("[1,]", "unexpected character ']'"),
        ("01", "leading zero in number"),
        ("\"abc", "unterminated string"),
        ("\"\\ud800\"", "unpaired UTF-16 surrogate"),
        ("trxe", "invalid literal"),
        ("1 2", "unexpected text after the JSON value"),
        ("\"a\u{01}\"", "unescaped control character"),
        ("1e999", "out of range"),
        ("{\"a\": 1, \"a\": 2}", "duplicate object key 'a'"),
        ("{\"\u{E9}\": 1, \"e\u{301}\": 2}", "duplicate object key"),
    ])
    func rejectsInvalidTextWithAReason(text: String, reason: String) {
        #expect {
            _ = try JSONValue(parsing: text)
        } throws: { error in
            (error as? JSONSyntaxError)?.message.contains(reason) == true
        }
    }

    @Test func rejectsInvalidUTF8() {
        #expect(throws: JSONSyntaxError.self) { _ = try JSONValue(parsing: [0x22, 0xFF, 0x22]) }
    }

    @Test func rejectsNestingPastTheLimit() {
        let deep = String(repeating: "[", count: 600) + String(repeating: "]", count: 600)
        #expect(throws: JSONSyntaxError.self) { _ = try JSONValue(parsing: deep) }
    }

    @Test func aSyntaxErrorSaysItsLineAndColumn() {
        let text = "[1,\n  2,\n  }"
        let error = #expect(throws: JSONSyntaxError.self) { _ = try JSONValue(parsing: text) }
        let position = error?.position(in: text)
        #expect(position?.line == 3 && position?.column == 3)
    }
}
