import Foundation
import Logging

/// The CLI's loggers. Libraries are handed a `Logger`; the executable decides where its
/// lines go: progress a person asked for on standard output, warnings (a notification
/// not delivered) on standard error.
enum CLILog {
    /// Each message at `level` and above on its own line on standard output, without
    /// metadata: `slipway build`'s progress ("cache hit: train artifact 3f2a…").
    static func progress(level: Logger.Level) -> Logger {
        Logger(label: "slipway.cli") { _ in MessageLogHandler(level: level) { print($0) } }
    }

    /// Warnings and errors on standard error: `slipway: warning: MESSAGE (key=value …)`.
    static var warnings: Logger {
        Logger(label: "slipway.cli") { _ in
            MessageLogHandler(level: .warning, withMetadata: true) { FileHandle.standardError.write(Data(("slipway: " + $0 + "\n").utf8)) }
        }
    }
}

/// Writes each message as one line through `write`: the message alone, or for warnings
/// the level and the metadata too.
struct MessageLogHandler: LogHandler {
    var logLevel: Logger.Level
    var metadata: Logger.Metadata = [:]
    let withMetadata: Bool
    let write: @Sendable (String) -> Void

    init(level: Logger.Level, withMetadata: Bool = false, write: @escaping @Sendable (String) -> Void) {
        self.logLevel = level
        self.withMetadata = withMetadata
        self.write = write
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        guard withMetadata else { return write("\(event.message)") }
        let all = metadata.merging(event.metadata ?? [:]) { $1 }.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
        write("\(event.level): \(event.message)" + (all.isEmpty ? "" : " (\(all.joined(separator: " ")))"))
    }
}
