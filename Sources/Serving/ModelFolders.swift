import Foundation
import Home

/// Trained models unpacked once each, at `HOME/models/DIGEST`, read-only to workers.
struct ModelFolders {
    let home: String

    /// The folder holding `archive` unpacked (made now if need be, by `tar` through the process layer).
    func unpacked(_ archive: String, digest: String) async throws -> String {
        let folder = home + "/models/" + (archive.isEmpty ? "empty" : digest)
        if FileManager.default.fileExists(atPath: folder) { return folder }
        if archive.isEmpty {
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            return folder
        }
        let scratch = folder + ".partial-\(getpid())-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
        let tar = try await Processes.run(ProcessSpec("/bin/tar", ["-xzf", archive, "-C", scratch], environment: ["PATH": "/usr/bin:/bin"]),
                                          timeout: .seconds(600))
        guard tar.succeeded else {
            try? FileManager.default.removeItem(atPath: scratch)
            let why = tar.timedOut ? "tar took over 10 minutes" : "tar exited with \(tar.status): \(tar.output.suffix(500))"
            throw WorkerError("cannot unpack the model '\(archive)' (\(why)); check that it is a gzipped tar archive")
        }
        try DurableFolders.sync(scratch)
        if rename(scratch, folder) != 0 { try? FileManager.default.removeItem(atPath: scratch) }  // another process won the race
        try DurableFolders.syncParent(of: folder)
        return folder
    }
}
