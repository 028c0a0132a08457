import Foundation

/// Trained models unpacked once each, at `HOME/models/DIGEST`, read-only to workers.
struct ModelFolders {
    let home: String

    /// The folder holding `archive` unpacked (made now if need be).
    ///
    /// Interim: `tar` runs through Foundation's `Process` until the shared process layer's
    /// `Processes.run` exists in `Home`.
    func unpacked(_ archive: String, digest: String) throws -> String {
        let folder = home + "/models/" + (archive.isEmpty ? "empty" : digest)
        if FileManager.default.fileExists(atPath: folder) { return folder }
        if archive.isEmpty {
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            return folder
        }
        let scratch = folder + ".partial-\(getpid())-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
        let tar = Process()
        tar.executableURL = URL(fileURLWithPath: "/bin/tar")
        tar.arguments = ["-xzf", archive, "-C", scratch]
        try tar.run()
        tar.waitUntilExit()
        guard tar.terminationStatus == 0 else {
            try? FileManager.default.removeItem(atPath: scratch)
            throw WorkerError("cannot unpack the model '\(archive)' (tar exited with \(tar.terminationStatus)); check that it is a gzipped tar archive")
        }
        if rename(scratch, folder) != 0 { try? FileManager.default.removeItem(atPath: scratch) }  // another process won the race
        return folder
    }
}
