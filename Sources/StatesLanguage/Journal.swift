import Foundation
import JSON
import Synchronization

/// Where an execution's progress is recorded as it happens, so that a process killed
/// mid-execution resumes it: the history events, and per state visit its outcome.
package protocol ExecutionJournal: Sendable {
    /// Every record so far, oldest first (empty for a new execution).
    func records() throws -> [JSONValue]
    /// Appends a record durably before returning.
    func append(_ record: JSONValue) throws
}

/// A journal in memory (tests, `states run` without a home).
package final class MemoryJournal: ExecutionJournal {
    private let storage = Mutex<[JSONValue]>([])
    package init(_ records: [JSONValue] = []) { storage.withLock { $0 = records } }
    package func records() throws -> [JSONValue] { storage.withLock { $0 } }
    package func append(_ record: JSONValue) throws { storage.withLock { $0.append(record) } }
}

/// A journal file of JSON lines, each appended with `fsync` before the engine goes on.
/// A torn last line (the writer died mid-write) is ignored on reading.
package final class FileJournal: ExecutionJournal {
    package let path: String
    private let lock = Mutex(())

    package init(path: String) { self.path = path }

    package func records() throws -> [JSONValue] {
        guard let data = FileManager.default.contents(atPath: path) else { return [] }
        var records: [JSONValue] = []
        for line in data.split(separator: 0x0A) {
            guard let record = try? JSONValue(parsing: Array(line)) else { break }  // a torn tail
            records.append(record)
        }
        return records
    }

    package func append(_ record: JSONValue) throws {
        try lock.withLock { _ in
            let fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
            guard fd >= 0 else { throw JournalWriteError(path: path, code: errno) }
            defer { close(fd) }
            let bytes = record.serializedBytes() + [0x0A]
            let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            guard written == bytes.count else { throw JournalWriteError(path: path, code: written < 0 ? errno : ENOSPC) }
            guard fsync(fd) == 0 else { throw JournalWriteError(path: path, code: errno) }
        }
    }
}

/// A journal record that could not be written (a full disk, a failing device).
package struct JournalWriteError: Error, Sendable, CustomStringConvertible {
    /// The journal file.
    package var path: String
    /// The system's error number (`ENOSPC`, `EIO`...).
    package var code: Int32

    /// The failure to write `path`, with `errno`'s value.
    package init(path: String, code: Int32) {
        self.path = path
        self.code = code
    }

    /// What failed, why, and what to do.
    package var description: String {
        "cannot write the execution journal '\(path)': \(String(cString: strerror(code))); free some disk space (the agent records the execution's end once it can)"
    }
}

/// What a journal says about an execution being resumed: the events it already has, and
/// for each state visit (by key) its recorded exit, and each task attempt's result.
struct Replay: Sendable {
    var events: [HistoryEvent] = []
    /// `key` → (output, next state or nil).
    var exits: [String: (JSONValue, String?)] = [:]
    /// `key#attempt` → the task's output.
    var taskResults: [String: JSONValue] = [:]
    /// `key` → seconds already waited were recorded as done.
    var waitsDone: Set<String> = []
    /// `key` → when a Wait that was under way ends.
    var waitDeadlines: [String: Double] = [:]
    /// `key` → the retry state of a Task, Parallel or Map visit.
    var retries: [String: (retryCount: Int, attempts: [Int: Int])] = [:]
    /// Whether the execution ended and was then redriven (to run again from where it failed).
    var redriven = false
    /// How many times it was redriven (part of task tokens, so old outcomes never answer new attempts).
    var redrives = 0
    /// `key@retry` → how many times the process running that task attempt died before it
    /// ended (it was started, and neither ended nor released by a process that stopped
    /// cleanly), and the last such process's pid.
    var deaths: [String: (count: Int, pid: Int)] = [:]

    /// The events that end an execution.
    static let terminalEvents: Set<String> = ["ExecutionSucceeded", "ExecutionFailed", "ExecutionAborted", "ExecutionTimedOut"]

    init(_ records: [JSONValue]) {
        var running: [String: Int] = [:]  // attempts started and not ended, with their process's pid
        var died: [String: (count: Int, pid: Int)] = [:]
        func count(_ key: String, pid: Int) {
            died[key] = ((died[key]?.count ?? 0) + 1, pid)
        }
        for record in records {
            switch record["kind"]?.stringValue {
            case "event":
                if let event = record["event"], let id = event["id"]?.intValue, let type = event["type"]?.stringValue {
                    var detailsKey: String?
                    var details: JSONValue?
                    if case .object(let members) = event {
                        if let key = members.keys.first(where: { $0.hasSuffix("EventDetails") }) {
                            detailsKey = key
                            details = members[key]
                        }
                    }
                    events.append(HistoryEvent(id: Int(id), previousEventId: Int(event["previousEventId"]?.intValue ?? 0),
                                               timestamp: record["at"]?.doubleValue ?? 0, type: type, detailsKey: detailsKey, details: details))
                    if Self.terminalEvents.contains(type) { redriven = false }
                }
            case "exit":
                if let key = record["key"]?.stringValue, let output = record["output"] {
                    exits[key] = (output, record["next"]?.stringValue)
                }
            case "task":
                if let key = record["key"]?.stringValue, let output = record["output"] { taskResults[key] = output }
            case "waited":
                if let key = record["key"]?.stringValue { waitsDone.insert(key) }
            case "waitUntil":
                if let key = record["key"]?.stringValue, let until = record["until"]?.doubleValue { waitDeadlines[key] = until }
            case "retry":
                if let key = record["key"]?.stringValue, let count = record["retryCount"]?.intValue {
                    var attempts: [Int: Int] = [:]
                    for (index, value) in record["attempts"]?.objectValue ?? [:] {
                        if let i = Int(index), let n = value.intValue { attempts[i] = Int(n) }
                    }
                    retries[key] = (Int(count), attempts)
                }
            case "started":
                if let key = record["key"]?.stringValue {
                    if let pid = running[key] { count(key, pid: pid) }  // started again: the last run of it died
                    running[key] = Int(record["pid"]?.intValue ?? 0)
                }
            case "ended":
                if let key = record["key"]?.stringValue { running[key] = nil }
            case "task":
                if let key = record["key"]?.stringValue { running = running.filter { !$0.key.hasPrefix(key + "@") } }
            case "released":
                running = [:]  // its process stopped cleanly: what ran is run again, no death counted
            case "redrive":
                redriven = true
                redrives += 1
                retries = [:]  // a redriven state retries afresh
                waitDeadlines = [:]
                running = [:]
                died = [:]
            default:
                break
            }
        }
        for (key, pid) in running { count(key, pid: pid) }  // the process that wrote this journal last died running these
        deaths = died
    }
}
