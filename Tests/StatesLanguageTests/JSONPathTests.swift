import JSON
import Testing
@testable import StatesLanguage

@Suite struct JSONPathTests {
    let store: JSONValue = [
        "store": [
            "book": [
                ["category": "reference", "author": "Nigel Rees", "title": "Sayings of the Century", "price": 8.95],
                ["category": "fiction", "author": "Evelyn Waugh", "title": "Sword of Honour", "price": 12.99],
                ["category": "fiction", "author": "Herman Melville", "title": "Moby Dick", "isbn": "0-553-21311-3", "price": 8.99],
                ["category": "fiction", "author": "J. R. R. Tolkien", "title": "The Lord of the Rings", "isbn": "0-395-19395-8", "price": 22.99],
            ],
            "bicycle": ["color": "red", "price": 19.95],
        ],
        "with space": ["a.b": 1],
    ]

    func select(_ path: String) throws -> [JSONValue] { try JSONPath(path).select(in: store) }

    @Test func namesIndicesAndBrackets() throws {
        #expect(try select("$") == [store])
        #expect(try select("$.store.bicycle.color") == ["red"])
        #expect(try select("$['store']['bicycle']['color']") == ["red"])
        #expect(try select("$['with space']['a.b']") == [1])
        #expect(try select("$.store.book[0].author") == ["Nigel Rees"])
        #expect(try select("$.store.book[-1].author") == ["J. R. R. Tolkien"])
        #expect(try select("$.store.book[9]").isEmpty)
        #expect(try select("$.store.nothing").isEmpty)
    }

    @Test func wildcardsSlicesUnionsAndDescendants() throws {
        #expect(try select("$.store.book[*].author").count == 4)
        #expect(try select("$.store.book[0,2].title") == ["Sayings of the Century", "Moby Dick"])
        #expect(try select("$.store.book[1:3].title") == ["Sword of Honour", "Moby Dick"])
        #expect(try select("$.store.book[:2].price") == [8.95, 12.99])
        #expect(try select("$.store.book[-2:].price") == [8.99, 22.99])
        #expect(try select("$.store.book[::-1].price") == [22.99, 8.99, 12.99, 8.95])
        #expect(try select("$..author").count == 4)
        #expect(try select("$.store..price").count == 5)
        #expect(try select("$.store.*").count == 2)
        #expect(try select("$['store']['bicycle']['color','price']") == ["red", 19.95])
    }

    @Test func filtersCompareNumbersAndStringsAndTestPresence() throws {
        #expect(try select("$.store.book[?(@.price < 10)].title") == ["Sayings of the Century", "Moby Dick"])
        #expect(try select("$.store.book[?(@.category == 'reference')].author") == ["Nigel Rees"])
        #expect(try select("$.store.book[?(@.isbn)].title").count == 2)
        #expect(try select("$..book[?(@.price >= 22.99)].title") == ["The Lord of the Rings"])
        #expect(try select("$.store.book[?(@.category == 'fiction' && @.price < 10)].title") == ["Moby Dick"])
        #expect(try select("$.store.book[?(@.price > 20 || @.category == 'reference')].title") == ["Sayings of the Century", "The Lord of the Rings"])
        #expect(try select("$.store.book[?(@.isbn && @.price<10 || @.price>20)].title") == ["Moby Dick", "The Lord of the Rings"])
        #expect(try select("$.store[?(@.bicycle)].bicycle.color") == ["red"])  // an object is tested itself
    }

    @Test func referencePathsAndDefiniteness() throws {
        #expect(try JSONPath("$.a.b[0]").isReference)
        #expect(try JSONPath("$$.Execution.Id").root == .context)
        #expect(try !JSONPath("$.a[*]").isReference)
        #expect(try !JSONPath("$.a[-1]").isReference)
        #expect(try JSONPath("$.a[-1]").isDefinite)
        #expect(try JSONPath("$.store.book[*].price").evaluate(in: store)?.arrayValue?.count == 4)
        #expect(try JSONPath("$.store.bicycle.color").evaluate(in: store) == "red")
        #expect(try JSONPath("$.missing").evaluate(in: store) == nil)
        #expect(try JSONPath("$.missing[*]").evaluate(in: store) == [])
    }

    @Test func settingAtAReferencePathCreatesObjectsOnTheWay() throws {
        let input: JSONValue = ["a": ["keep": true], "list": [1, 2]]
        #expect(try JSONPath("$.a.result").setting("x", in: input) == ["a": ["keep": true, "result": "x"], "list": [1, 2]])
        #expect(try JSONPath("$.new.deep").setting(1, in: input)?["new"] == ["deep": 1])
        #expect(try JSONPath("$.list[1]").setting(9, in: input)?["list"] == [1, 9])
        #expect(try JSONPath("$").setting("all", in: input) == "all")
        #expect(try JSONPath("$.a.keep.x").setting(1, in: input) == nil)  // true is not an object
    }

    @Test(arguments: ["", "store", "$.", "$..", "$[", "$['unterminated]", "$.a[?(@.b ~ 1)]", "$.a b"])
    func malformedPathsAreRejectedWithAReason(text: String) {
        let error = #expect(throws: JSONPathError.self) { try JSONPath(text) }
        #expect(error?.description.hasPrefix("invalid JSONPath '\(text)'") == true)
    }
}

@Suite struct IntrinsicTests {
    let input: JSONValue = ["name": "Ada", "list": [1, 2, 2, 3], "object": ["a": 1], "n": 5, "text": "a,b;c"]

    func run(_ text: String) throws -> JSONValue {
        try Intrinsic(text).evaluate(input: input, context: ["Execution": ["Name": "run-1"]])
    }

    @Test func everyFunctionComputesWhatStepFunctionsDoes() throws {
        #expect(try run("States.Format('Hello {}, run {}', $.name, $$.Execution.Name)") == "Hello Ada, run run-1")
        #expect(try run("States.Format('n={} ok={} nil={}', $.n, true, null)") == "n=5 ok=true nil=null")
        #expect(try run(#"States.Format('braces \{\} {}', 'x')"#) == "braces {} x")
        #expect(try run(#"States.Format('C:\\dir {}', 'A')"#) == #"C:\dir A"#)
        #expect(try run(#"States.Array('it\'s', 'a\\b')"#) == ["it's", #"a\b"#])
        #expect(try run("States.StringToJson('{\"a\": [1]}')") == ["a": [1]])
        #expect(try run("States.JsonToString($.object)") == #"{"a":1}"#)
        #expect(try run("States.Array('a', 1, $.n, States.Array())") == ["a", 1, 5, []])
        #expect(try run("States.ArrayPartition($.list, 3)") == [[1, 2, 2], [3]])
        #expect(try run("States.ArrayContains($.list, 3)") == true)
        #expect(try run("States.ArrayRange(1, 9, 2)") == [1, 3, 5, 7, 9])
        #expect(try run("States.ArrayRange(5, 1, -2)") == [5, 3, 1])
        #expect(try run("States.ArrayGetItem($.list, 3)") == 3)
        #expect(try run("States.ArrayLength($.list)") == 4)
        #expect(try run("States.ArrayUnique($.list)") == [1, 2, 3])
        #expect(try run("States.Base64Encode('Data to encode')") == "RGF0YSB0byBlbmNvZGU=")
        #expect(try run("States.Base64Decode('RGF0YSB0byBlbmNvZGU=')") == "Data to encode")
        #expect(try run("States.Hash('input data', 'SHA-1')") == "aaff4a450a104cd177d28d18d74485e8cae074b7")
        #expect(try run("States.Hash('abc', 'MD5')") == "900150983cd24fb0d6963f7d28e17f72")
        #expect(try run("States.Hash('abc', 'SHA-256')") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(try run("States.JsonMerge($.object, States.StringToJson('{\"b\": 2}'), false)") == ["a": 1, "b": 2])
        #expect(try run("States.MathAdd($.n, -7)") == -2)
        #expect(try run("States.StringSplit($.text, ',;')") == ["a", "b", "c"])
        let random = try run("States.MathRandom(1, 999)").intValue ?? 0
        #expect((1..<999).contains(random))
        #expect(try run("States.MathRandom(1, 999, 42)") == (try run("States.MathRandom(1, 999, 42)")))
        #expect(try run("States.UUID()").stringValue?.count == 36)
    }

    @Test(arguments: [
        ("States.Nope(1)", "unknown function 'States.Nope'"),
        ("States.MathAdd(1)", "States.MathAdd takes 2 arguments, not 1"),
        ("States.UUID(1)", "States.UUID takes 0 argument"),
        ("States.Format()", "takes at least 1"),
        ("States.Array(1,", "expected an argument"),
        ("States.Array([1])", "is not a 'string'"),
    ])
    func callsThatDoNotParseSayWhy(text: String, message: String) {
        let error = #expect(throws: IntrinsicError.self) { try Intrinsic(text) }
        #expect(error?.message.contains(message) == true, "\(error?.message ?? "")")
    }

    @Test(arguments: [
        ("States.Format('{} {}', 'one')", "more {} than arguments"),
        ("States.ArrayGetItem($.list, 7)", "out of bounds"),
        ("States.ArrayPartition($.list, 0)", "more than 0"),
        ("States.ArrayRange(0, 5000, 1)", "at most 1000"),
        ("States.MathAdd($.name, 1)", "must be an integer"),
        ("States.JsonMerge($.object, $.object, true)", "only shallow"),
        ("States.StringToJson('{oops')", "not JSON"),
        ("States.Hash('x', 'CRC32')", "unknown algorithm 'CRC32'"),
        ("States.ArrayLength($.missing)", "matches nothing"),
    ])
    func failuresAtRunTimeAreIntrinsicFailures(text: String, message: String) {
        let error = #expect(throws: IntrinsicError.self) { try run(text) }
        #expect(error?.message.contains(message) == true, "\(error?.message ?? "")")
    }
}
