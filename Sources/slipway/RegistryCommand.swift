import Foundation
import ArgumentParser
import Registry

/// `slipway registry ...`: read and write the key-value registry directly.
struct RegistryCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "registry",
        abstract: "Read and write the registry, Slipway's file-based JSON key-value store.",
        subcommands: [Put.self, Get.self, Update.self, Delete.self, Query.self, Scan.self, Tables.self, Transact.self, Check.self]
    )
}

/// TABLE PK [SK]: the address of one item.
struct ItemAddressArguments: ParsableArguments {
    @Argument(help: "The table.") var table: String
    @Argument(help: "The partition key.") var partitionKey: String
    @Argument(help: "The sort key, for tables that have sort keys.") var sortKey: String?

    var key: ItemKey { ItemKey(partitionKey, sortKey) }
}

/// `--if-absent`, `--if-exists`, `--if-version N`.
struct ConditionOptions: ParsableArguments {
    @Flag(help: "Only write when the item does not exist.") var ifAbsent = false
    @Flag(help: "Only write when the item exists.") var ifExists = false
    @Option(help: "Only write when the item is at this version.") var ifVersion: Int?

    func validate() throws {
        let given = [ifAbsent, ifExists, ifVersion != nil].filter { $0 }.count
        if given > 1 { throw ValidationError("give at most one of --if-absent, --if-exists, --if-version") }
        if let ifVersion, ifVersion < 1 { throw ValidationError("--if-version must be at least 1, not \(ifVersion)") }
    }

    var condition: Condition {
        if ifAbsent { return .absent }
        if ifExists { return .exists }
        if let ifVersion { return .version(ifVersion) }
        return .none
    }
}

/// Parses a JSON command-line value, naming the option and value when it is not JSON.
func parseJSON(_ text: String, option: String) throws -> JSONValue {
    do {
        return try JSONValue(parsing: text)
    } catch {
        throw ValidationError("\(option) '\(text)' is not valid JSON (\(error)); quote strings, e.g. '\"text\"'")
    }
}

/// Prints an item for a person, or as one JSON object with `--json`.
func printItem(_ item: Item, json: Bool) {
    if json {
        print(item.json.serialized())
    } else {
        print("\(item.table) \(item.key) version \(item.version)")
        print(JSONValue.object(item.attributes).serialized(pretty: true))
    }
}

/// Prints query or scan results, then fails (exit 1) naming every corrupt file skipped.
func printItems(_ result: ReadResult, json: Bool) throws {
    if json {
        print(JSONValue.array(result.items.map(\.json)).serialized())
    } else {
        for item in result.items {
            print("\(item.key)\tv\(item.version)\t\(JSONValue.object(item.attributes).serialized())")
        }
    }
    try failOnCorruptFiles(result.problems)
}

/// Exit 1 naming each corrupt or foreign registry file a read skipped, with its path and
/// why, after what could be read was printed: a reader never hides a corrupt item.
func failOnCorruptFiles(_ problems: [RegistryProblem]) throws {
    guard !problems.isEmpty else { return }
    throw CommandFailure(
        message: "skipped \(problems.count) corrupt registry file\(problems.count == 1 ? "" : "s"): "
            + problems.map { "'\($0.path)' (\($0.reason))" }.joined(separator: ", ")
            + "; move \(problems.count == 1 ? "it" : "them") out of the registry or restore from a backup (`slipway registry check` lists every one)",
        status: ExitStatus.failure)
}

extension RegistryCommand {
    struct Put: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Write an item whole.")
        @OptionGroup var address: ItemAddressArguments
        @Option(help: "The item's attributes, a JSON object.") var item: String
        @OptionGroup var condition: ConditionOptions
        @Flag(help: "Print the stored item as JSON.") var json = false
        @OptionGroup var home: HomeOption

        func run() throws {
            guard case .object(let attributes) = try parseJSON(item, option: "--item") else {
                throw ValidationError("--item must be a JSON object, such as '{\"status\": \"ok\"}'")
            }
            let stored = try home.registry().put(address.table, address.key, attributes, condition: condition.condition)
            if json { printItem(stored, json: true) } else { print("stored \(stored.key) in '\(stored.table)' at version \(stored.version)") }
        }
    }

    struct Get: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Read one item (exit 4 when it does not exist).")
        @OptionGroup var address: ItemAddressArguments
        @Flag(help: "Print {\"version\": N, \"item\": {...}, ...} as one JSON object.") var json = false
        @OptionGroup var home: HomeOption

        func run() throws {
            guard let item = try home.registry().get(address.table, address.key) else {
                throw CommandFailure.notFound("no item \(address.key) in table '\(address.table)'; list the table with `slipway registry scan \(address.table)`")
            }
            printItem(item, json: json)
        }
    }

    struct Update: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Change some attributes in one atomic read-modify-write (creates the item when absent).")
        @OptionGroup var address: ItemAddressArguments
        @Option(name: .customLong("set"), help: "Set an attribute: NAME=JSON.") var sets: [String] = []
        @Option(name: .customLong("remove"), help: "Remove an attribute.") var removes: [String] = []
        @Option(name: .customLong("add"), help: "Add a number to an attribute (absent counts as 0): NAME=N.") var adds: [String] = []
        @OptionGroup var condition: ConditionOptions
        @Flag(help: "Print the stored item as JSON.") var json = false
        @OptionGroup var home: HomeOption

        func validate() throws {
            if sets.isEmpty && removes.isEmpty && adds.isEmpty {
                throw ValidationError("give at least one of --set NAME=JSON, --remove NAME, --add NAME=N")
            }
        }

        func run() throws {
            var changes: [AttributeChange] = []
            for assignment in sets {
                let (name, value) = try split(assignment, option: "--set")
                changes.append(.set(name, try parseJSON(value, option: "--set \(name)")))
            }
            changes += removes.map { .remove($0) }
            for assignment in adds {
                let (name, value) = try split(assignment, option: "--add")
                let number = try parseJSON(value, option: "--add \(name)")
                guard number.doubleValue != nil else { throw ValidationError("--add \(name) needs a number, not '\(value)'") }
                changes.append(.add(name, number))
            }
            let stored = try home.registry().update(address.table, address.key, changes, condition: condition.condition)
            if json { printItem(stored, json: true) } else { print("updated \(stored.key) in '\(stored.table)' to version \(stored.version)") }
        }

        private func split(_ assignment: String, option: String) throws -> (String, String) {
            guard let equals = assignment.firstIndex(of: "="), equals != assignment.startIndex else {
                throw ValidationError("\(option) '\(assignment)' must look like NAME=VALUE")
            }
            return (String(assignment[..<equals]), String(assignment[assignment.index(after: equals)...]))
        }
    }

    struct Delete: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete one item (exit 4 when it did not exist).")
        @OptionGroup var address: ItemAddressArguments
        @OptionGroup var condition: ConditionOptions
        @OptionGroup var home: HomeOption

        func run() throws {
            guard let deleted = try home.registry().delete(address.table, address.key, condition: condition.condition) else {
                throw CommandFailure.notFound("no item \(address.key) in table '\(address.table)'; nothing was deleted")
            }
            print("deleted \(deleted.key) from '\(deleted.table)' (was version \(deleted.version))")
        }
    }

    struct Query: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Read the items of one partition, by sort key.")
        @Argument(help: "The table.") var table: String
        @Argument(help: "The partition key.") var partitionKey: String
        @Option(help: "Only sort keys that start with this.") var prefix: String?
        @Option(help: "Only sort keys at or after this.") var from: String?
        @Option(help: "Only sort keys at or before this.") var to: String?
        @Flag(help: "Newest (largest sort key) first.") var reverse = false
        @Option(help: "Return at most this many items.") var limit: Int?
        @Flag(help: "Print a JSON array of items shaped like `get --json`.") var json = false
        @OptionGroup var home: HomeOption

        func validate() throws {
            if prefix != nil && (from != nil || to != nil) { throw ValidationError("give either --prefix or --from/--to, not both") }
            if let limit, limit < 1 { throw ValidationError("--limit must be at least 1, not \(limit)") }
        }

        func run() throws {
            let condition: SortKeyCondition =
                if let prefix { .prefix(prefix) } else if from != nil || to != nil { .range(from: from, to: to) } else { .all }
            let result = try home.registry().query(table, partition: partitionKey, where: condition, descending: reverse, limit: limit)
            try printItems(result, json: json)
        }
    }

    struct Scan: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Read every item of a table.")
        @Argument(help: "The table.") var table: String
        @Flag(help: "Print a JSON array of items shaped like `get --json`.") var json = false
        @OptionGroup var home: HomeOption

        func run() throws {
            try printItems(try home.registry().scan(table), json: json)
        }
    }

    struct Tables: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the tables.")
        @Flag(help: "Print a JSON array of names.") var json = false
        @OptionGroup var home: HomeOption

        func run() throws {
            let names = try home.registry().tables()
            if json { print(JSONValue.array(names.map { .string($0) }).serialized()) } else { names.forEach { print($0) } }
        }
    }

    struct Transact: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Apply several writes all-or-nothing.",
            discussion: """
                The file is a JSON array of writes, for example:
                [{"op": "put", "table": "builds", "pk": "demand", "sk": "b-0002", "item": {"status": "succeeded"}, "ifAbsent": true},
                 {"op": "update", "table": "models", "pk": "demand", "set": {"latest": "b-0002"}, "ifVersion": 1},
                 {"op": "delete", "table": "locks", "pk": "demand"},
                 {"op": "check", "table": "models", "pk": "price", "ifExists": true}]
                Conditions: "ifAbsent": true, "ifExists": true or "ifVersion": N. Update takes "set", "remove", "add".
                """)
        @Option(help: "The transaction file ('-' for standard input).") var file: String
        @Flag(help: "Print the stored items as a JSON array (null for deletes and checks).") var json = false
        @OptionGroup var home: HomeOption

        func run() throws {
            let text: String
            if file == "-" {
                var lines: [String] = []
                while let line = readLine(strippingNewline: false) { lines.append(line) }
                text = lines.joined()
            } else {
                do {
                    text = try String(contentsOfFile: file, encoding: .utf8)
                } catch {
                    let reason = (error as NSError).localizedFailureReason ?? (error as NSError).localizedDescription
                    throw CommandFailure(
                        message: "cannot read transaction file '\(file)': \(reason)",
                        status: FileManager.default.fileExists(atPath: file) ? ExitStatus.failure : ExitStatus.notFound)
                }
            }
            let value: JSONValue
            do {
                value = try JSONValue(parsing: text)
            } catch {
                let (line, column) = error.position(in: text)
                throw CommandFailure(message: "transaction file '\(file)' is not valid JSON: \(error.message) at line \(line), column \(column)", status: ExitStatus.usage)
            }
            let writes = try TransactionWrite.decodeList(value)
            let results = try home.registry().transact(writes)
            if json {
                print(JSONValue.array(results.map { $0?.json ?? .null }).serialized())
            } else {
                print("committed \(writes.count) writes")
            }
        }
    }

    struct Check: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Read every item, report corrupt files (exit 1), and remove what killed writers left behind.")
        @Option(help: "Remove temporary files older than this many seconds.") var olderThan: Double = 600
        @Flag(help: "Print the report as JSON.") var json = false
        @OptionGroup var home: HomeOption

        func run() throws {
            let report = try home.registry().check(removingTemporariesOlderThan: olderThan)
            if json {
                print(report.json.serialized())
            } else {
                print("checked \(report.items) items in \(report.tables) tables; removed \(report.removedTemporaries.count) stale temporary files")
                for problem in report.problems { print("problem: \(problem)") }
            }
            if !report.problems.isEmpty {
                throw CommandFailure(
                    message: "\(report.problems.count) corrupt or foreign files; move them out of the registry or restore them from a backup",
                    status: ExitStatus.failure)
            }
        }
    }
}
