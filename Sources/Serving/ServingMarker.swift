import Foundation
import Home
import Registry

/// `HOME/serving.json`: where the running agent serves endpoints (host, port, pid), so the
/// CLI can reach it and the deployment pipeline can tell whether anyone serves at all.
package enum ServingMarker {
    /// The marker's path in `home`.
    package static func path(home: String) -> String { home + "/serving.json" }

    /// Records that this process serves on `host:port` (written atomically and durably).
    package static func write(home: String, host: String, port: Int) throws {
        let text = JSONValue.object(["host": .string(host), "port": .int(Int64(port)), "pid": .int(Int64(getpid()))]).serialized(pretty: true)
        do {
            try FileIO.writeDurably(Array(text.utf8), to: path(home: home))
        } catch {
            throw WorkerError("cannot write \(path(home: home)): \(error)")
        }
    }

    /// The serving agent's address, or nil when none runs for this home.
    package static func read(home: String) -> (host: String, port: Int, pid: Int32)? {
        guard let data = FileManager.default.contents(atPath: path(home: home)), let json = try? JSONValue(parsing: Array(data)),
            let port = json["port"]?.intValue, let pid = json["pid"]?.intValue, kill(pid_t(pid), 0) == 0 || errno == EPERM
        else { return nil }
        return (json["host"]?.stringValue ?? "127.0.0.1", Int(port), Int32(pid))
    }

    /// Removes the marker if this process wrote it.
    package static func remove(home: String) {
        if read(home: home)?.pid == getpid() { unlink(path(home: home)) }
    }
}
