import Foundation
import JSON
import Logging

/// The agent's log lines on standard output, one per event: `text` (a timestamp, the
/// level, the message, then `key=value` metadata) or `json` (one object per line, for
/// journald and log shippers). The executable bootstraps it; libraries only receive a
/// `Logger`.
package struct LineLogHandler: LogHandler {
    /// How each line is written.
    package enum Format: String, Sendable, CaseIterable { case text, json }

    package var logLevel: Logger.Level
    package var metadata: Logger.Metadata = [:]
    let label: String
    let format: Format
    let write: @Sendable (String) -> Void

    /// A handler writing `format` lines at `level` and above to `write` (standard output by default).
    package init(label: String, level: Logger.Level, format: Format,
                 write: @escaping @Sendable (String) -> Void = { FileHandle.standardOutput.write(Data(($0 + "\n").utf8)) }) {
        self.label = label
        self.logLevel = level
        self.format = format
        self.write = write
    }

    package subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    package func log(event: LogEvent) {
        let all = metadata.merging(event.metadata ?? [:]) { $1 }
        let stamp = Date().formatted(.iso8601.year().month().day().time(includingFractionalSeconds: true))
        switch format {
        case .text:
            let fields = all.sorted { $0.key < $1.key }.map { "\($0.key)=\(Self.quoted("\($0.value)"))" }
            write(([stamp, event.level.rawValue, "\(event.message)"] + fields).joined(separator: " "))
        case .json:
            var object: [String: JSONValue] = ["time": .string(stamp), "level": .string(event.level.rawValue),
                                               "message": .string("\(event.message)"), "logger": .string(label)]
            for (key, value) in all { object[key] = .string("\(value)") }
            write(JSONValue.object(object).serialized())
        }
    }

    /// A value as is, or in double quotes when it has spaces or quotes.
    static func quoted(_ value: String) -> String {
        guard value.isEmpty || value.contains(where: { $0 == " " || $0 == "\"" || $0 == "=" }) else { return value }
        return "\"" + value.replacingOccurrences(of: "\"", with: "\\\"") + "\""
    }
}
