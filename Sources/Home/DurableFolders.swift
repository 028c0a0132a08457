import Foundation

/// Folders made whole before they are renamed into place (the step cache's outputs, the
/// unpacked models): everything in them is fsynced first, so that after a power loss the
/// name points at complete contents, and what a killed process left half made (its
/// scratch folders, by their suffixes) is swept at the next start.
package enum DurableFolders {
    /// Fsyncs every regular file and folder under `path` (symlinks are not followed), then
    /// `path` itself. Throws a `FileError` naming the file that could not be synced.
    package static func sync(_ path: String) throws(FileError) {
        let manager = FileManager.default
        for relative in manager.subpaths(atPath: path) ?? [] {
            let full = path + "/" + relative
            guard let type = (try? manager.attributesOfItem(atPath: full))?[.type] as? FileAttributeType,
                type == .typeRegular || type == .typeDirectory else { continue }
            try syncOne(full)
        }
        try syncOne(path)
    }

    /// Fsyncs the folder holding `path`, so that a rename into it is durable.
    package static func syncParent(of path: String) throws(FileError) {
        try FileIO.syncDirectory(FileIO.parent(of: path))
    }

    /// Removes the entries of `folder` whose names contain one of `markers` (scratch
    /// folders such as `.staging-`, `.partial-`); returns their names. Run at start, when
    /// no process of this home can still be writing them.
    @discardableResult
    package static func sweep(_ folder: String, markers: [String]) -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []
        let stale = names.filter { name in markers.contains { name.contains($0) } }
        for name in stale { try? FileManager.default.removeItem(atPath: folder + "/" + name) }
        return stale
    }

    private static func syncOne(_ path: String) throws(FileError) {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw .io(operation: "open", path: path, errno: errno) }
        defer { close(fd) }
        guard fsync(fd) == 0 else { throw .io(operation: "fsync", path: path, errno: errno) }
    }
}
