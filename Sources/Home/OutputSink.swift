import Foundation

/// Where a child's combined output goes as it arrives: into a log file up to a byte limit
/// (then one truncation line, and the rest is dropped), and its last bytes into memory.
/// Nothing grows without bound, whatever the child prints.
struct OutputSink: Sendable {
    /// The log's descriptor; -1 when there is no log (or writing it failed).
    private var descriptor: Int32
    private let path: String?
    private let limit: Int
    private let tailLimit: Int
    private var written = 0
    private var tail: [UInt8] = []
    /// Whether the log reached its limit and later output was dropped from it.
    private(set) var truncated = false

    /// Opens (creates, or empties) `log`; nil keeps only the tail.
    init(log path: String?, limit: Int, tailLimit: Int) throws(ProcessError) {
        self.path = path
        self.limit = max(0, limit)
        self.tailLimit = max(1, tailLimit)
        guard let path else {
            descriptor = -1
            return
        }
        descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else {
            throw ProcessError.system("open the log file", path, errno: errno, hint: "check that its folder exists and is writable")
        }
    }

    /// Takes one chunk of output.
    mutating func append(_ bytes: UnsafeRawBufferPointer) {
        guard !bytes.isEmpty else { return }
        remember(bytes)
        guard descriptor >= 0, !truncated else { return }
        let room = limit - written
        let part = UnsafeRawBufferPointer(rebasing: bytes.prefix(room))
        writeToLog(part)
        written += part.count
        if part.count < bytes.count {
            truncated = true
            let line = Array("\n[slipway: output truncated at \(limit) bytes; the rest was dropped]\n".utf8)
            line.withUnsafeBytes { writeToLog($0) }
        }
    }

    /// Adds a line of Slipway's own to the tail (and the log), such as why reading stopped.
    mutating func note(_ text: String) {
        let line = Array("\n[slipway: \(text)]\n".utf8)
        line.withUnsafeBytes { remember($0) }
        if descriptor >= 0 { line.withUnsafeBytes { writeToLog($0) } }
    }

    /// Writes a `[slipway: TEXT]` line to the log only (not the tail), before any output.
    mutating func header(_ text: String) {
        guard descriptor >= 0 else { return }
        Array("[slipway: \(text)]\n".utf8).withUnsafeBytes { writeToLog($0) }
    }

    /// Closes the log and returns the tail as text.
    mutating func finish() -> String {
        if descriptor >= 0 {
            close(descriptor)
            descriptor = -1
        }
        return String(decoding: tail.suffix(tailLimit), as: UTF8.self)
    }

    private mutating func remember(_ bytes: UnsafeRawBufferPointer) {
        tail.append(contentsOf: bytes.suffix(tailLimit))
        if tail.count > 2 * tailLimit { tail.removeFirst(tail.count - tailLimit) }
    }

    /// Writes all of `bytes`; a failing write stops the log and says so in the tail, since
    /// the output is then only in memory.
    private mutating func writeToLog(_ bytes: UnsafeRawBufferPointer) {
        var offset = 0
        while offset < bytes.count {
            let n = write(descriptor, bytes.baseAddress! + offset, bytes.count - offset)
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else {
                let reason = String(cString: strerror(errno))
                close(descriptor)
                descriptor = -1
                let line = Array("\n[slipway: writing the log '\(path ?? "")' failed: \(reason); later output is not in it]\n".utf8)
                line.withUnsafeBytes { remember($0) }
                return
            }
            offset += n
        }
    }
}
