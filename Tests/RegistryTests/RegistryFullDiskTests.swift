import Foundation
import Testing
@testable import Registry

/// A registry on a tiny tmpfs, filled until the disk is full. Needs root (to mount); the
/// test is skipped, saying so, where mounting is not allowed.
@Suite(.serialized) struct RegistryFullDiskTests {
    static let canMount: Bool = {
        guard getuid() == 0 else { return false }
        let probe = TemporaryFolder()
        guard mount("tmpfs", probe.path, "tmpfs", 0, "size=64k") == 0 else { return false }
        umount(probe.path)
        return true
    }()

    @Test(.enabled(if: canMount, "mounting a tmpfs needs root"))
    func aFullDiskFailsTheWriteWithAClearErrorAndKeepsWhatWasRecorded() throws {
        let folder = TemporaryFolder()
        #expect(mount("tmpfs", folder.path, "tmpfs", 0, "size=256k") == 0)
        defer { umount(folder.path) }
        let registry = try folder.registry()
        try registry.put("models", ItemKey("keep"), ["latest": "b-1"])
        let big = JSONValue.string(String(repeating: "x", count: 16 * 1024))
        var stored = 0
        var failure: RegistryError?
        for i in 0..<100 {
            do {
                try registry.put("blobs", ItemKey("b-\(i)"), ["data": big])
                stored += 1
            } catch {
                failure = error
                break
            }
        }
        let error = try #require(failure, "the disk never filled up")
        #expect(error.description.contains("No space left on device"))
        #expect(error.description.contains("free some disk space"))
        // An overwrite of an existing item that cannot fit leaves the old item whole.
        #expect(throws: RegistryError.self) { try registry.put("models", ItemKey("keep"), ["latest": big]) }
        #expect(try registry.get("models", ItemKey("keep"))?.attributes["latest"] == "b-1")
        #expect(throws: RegistryError.self) {
            try registry.transact([
                .update(table: "models", key: ItemKey("keep"), changes: [.set("latest", "b-2")], condition: .none),
                .put(table: "blobs", key: ItemKey("last"), attributes: ["data": big], condition: .none),
            ])
        }
        #expect(try registry.get("models", ItemKey("keep"))?.version == 1)
        let scan = try registry.scan("blobs")
        #expect(scan.problems.isEmpty)
        #expect(scan.items.count == stored)
        #expect(folder.files().filter { $0.contains("/.tmp-") }.isEmpty)
    }
}
