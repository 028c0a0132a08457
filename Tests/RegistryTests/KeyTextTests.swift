import Testing
@testable import Registry

/// Keys that are not UTF-8 would collapse to U+FFFD (two keys, one item): they are
/// found and named escaped, so the CLI refuses them.
@Suite struct KeyTextTests {
    @Test func invalidUTF8IsRefusedAndShownEscaped() {
        let latin1: [UInt8] = Array("caf".utf8) + [0xE9]
        let other: [UInt8] = Array("caf".utf8) + [0xE8]
        #expect(String(decoding: latin1, as: UTF8.self) == String(decoding: other, as: UTF8.self), "the collapse this guards against")
        #expect(KeyText.decode(latin1) == nil)
        #expect(KeyText.decode(Array("café".utf8)) == "café")
        #expect(KeyText.escaped(latin1) == #"caf\xE9"#)
        #expect(KeyText.escaped(Array("a\\b\n".utf8)) == #"a\\b\x0A"#)
        let problem = KeyText.problem(inArguments: [Array("registry".utf8), Array("get".utf8), Array("models".utf8), latin1])
        #expect(problem?.hasPrefix(#"argument 4, "caf\xE9", is not valid UTF-8"#) == true, "\(problem ?? "nil")")
        #expect(KeyText.problem(inArguments: [Array("registry".utf8), Array("café".utf8)]) == nil)
    }
}
