import Foundation
import JSON

/// The path of this `slipway` executable (what hooks, units and the quickstart run).
func executablePath() -> String {
    (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
}

/// Prints `value` as one line of JSON with `--json`, else indented for a person.
func printJSON(_ value: JSONValue, compact: Bool) {
    print(value.serialized(pretty: !compact))
}

/// Prints one line per row, its fields separated by tabs.
func printRows(_ rows: [[String]]) {
    for row in rows { print(row.joined(separator: "\t")) }
}
