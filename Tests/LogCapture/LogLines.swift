import Logging
import Synchronization

/// What a `Logger` was told, kept in memory for assertions and failure messages: hand
/// `logger` to the code under test, then read `entries` (level, message, metadata) or
/// the lines (`level message key=value …`).
package final class LogLines: Sendable {
    /// One logged event.
    package struct Entry: Sendable {
        /// Its level.
        package var level: Logger.Level
        /// Its message.
        package var message: String
        /// The logger's metadata merged with the event's, as text.
        package var metadata: [String: String]

        /// `level message key=value …`, the keys sorted.
        package var line: String {
            ([level.rawValue, message] + metadata.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }).joined(separator: " ")
        }
    }

    private let store = Mutex<[Entry]>([])

    /// An empty capture.
    package init() {}

    /// Every event so far, oldest first.
    package var entries: [Entry] { store.withLock { $0 } }
    /// Every event so far as a line.
    package var all: [String] { entries.map(\.line) }
    /// True when a line contains `text`.
    package func contains(_ text: String) -> Bool { all.contains { $0.contains(text) } }

    /// A logger whose events (at `level` and above, `trace` by default) this capture keeps.
    package func logger(level: Logger.Level = .trace) -> Logger {
        Logger(label: "test") { [self] _ in Handler(lines: self, logLevel: level) }
    }

    /// A logger keeping every event (`trace` and above).
    package var logger: Logger { logger() }

    fileprivate func append(_ entry: Entry) { store.withLock { $0.append(entry) } }

    private struct Handler: LogHandler {
        let lines: LogLines
        var logLevel: Logger.Level
        var metadata: Logger.Metadata = [:]

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            let merged = metadata.merging(event.metadata ?? [:]) { $1 }
            lines.append(Entry(level: event.level, message: "\(event.message)", metadata: merged.mapValues { "\($0)" }))
        }
    }
}
