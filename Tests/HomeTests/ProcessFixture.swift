import Foundation
import Home

/// A temporary folder for one test, and ways to look at processes from outside.
struct ProcessFixture {
    let root: String

    /// "Well before the 300 s sleep would end": loose, since a full test run on two cores
    /// keeps the concurrency pool busy (other suites block its threads) for seconds at a time.
    static let bound = Duration.seconds(150)

    init() {
        var template = Array((NSTemporaryDirectory() + "slipway-home-tests-XXXXXX").utf8CString)
        root = String(cString: mkdtemp(&template)!)
    }

    /// `sh -c SCRIPT` with a PATH (the layer passes nothing on by itself).
    func sh(_ script: String) -> ProcessSpec {
        ProcessSpec("/bin/sh", ["-c", script], environment: ["PATH": "/usr/bin:/bin"])
    }

    /// The pid in `file` once a child wrote it (nil after thirty seconds).
    func pid(in file: String) async throws -> Int32? {
        for _ in 0..<3000 {
            if let text = try? String(contentsOfFile: root + "/" + file, encoding: .utf8), text.hasSuffix("\n"),
                let pid = Int32(text.trimmingCharacters(in: .whitespacesAndNewlines))
            {
                return pid
            }
            try await Task.sleep(for: .milliseconds(10))
        }
        return nil
    }

    /// Whether `pid` runs: it exists and is not a zombie (this machine's init may be slow
    /// to reap the orphans a killed group leaves).
    static func alive(_ pid: Int32) -> Bool {
        guard kill(pid, 0) == 0 else { return false }
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")")
        else { return false }
        return !stat[stat.index(close, offsetBy: 2)...].hasPrefix("Z")
    }

    /// Whether any process of group `group` runs (zombies aside).
    static func groupAlive(_ group: Int32) -> Bool {
        guard kill(-group, 0) == 0 else { return false }
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap { Int32($0) }.contains { pid in
            guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8), let close = stat.lastIndex(of: ")") else { return false }
            // After ") ": state, ppid, pgrp.
            let fields = stat[stat.index(close, offsetBy: 2)...].split(separator: " ")
            return fields.count > 2 && fields[2] == Substring(String(group)) && fields[0] != "Z"
        }
    }

    /// Waits up to ten seconds for `condition` to hold.
    static func eventually(_ condition: () -> Bool) async throws -> Bool {
        for _ in 0..<1000 {
            if condition() { return true }
            try await Task.sleep(for: .milliseconds(10))
        }
        return condition()
    }
}
