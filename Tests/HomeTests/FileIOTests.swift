import Foundation
import Testing
@testable import Home

/// Durable writes the git way (temporary file, fsync, rename, folder fsync), and what a
/// failed one says.
@Suite struct FileIOTests {
    let fixture = ProcessFixture()

    @Test func aDurableWriteReplacesTheFileWholeAndLeavesNoTemporaryBehind() throws {
        let path = fixture.root + "/item.json"
        try FileIO.writeDurably(Array("first".utf8), to: path)
        try FileIO.writeDurably(Array("second, longer".utf8), to: path)
        #expect(try FileIO.read(path) == Array("second, longer".utf8))
        #expect(try FileIO.list(fixture.root) == ["item.json"])
    }

    @Test func anExclusiveCreateRefusesAFileThatExistsAndKeepsIt() throws {
        let path = fixture.root + "/format.json"
        #expect(try FileIO.createExclusively(Array("1".utf8), at: path))
        #expect(try !FileIO.createExclusively(Array("2".utf8), at: path))
        #expect(try FileIO.read(path) == Array("1".utf8))
        #expect(try FileIO.list(fixture.root) == ["format.json"], "the temporary file is removed either way")
    }

    @Test func aMissingFileReadsAsNilAndAFailedWriteNamesTheOperationAndThePath() throws {
        #expect(try FileIO.read(fixture.root + "/missing") == nil)
        #expect(try FileIO.list(fixture.root + "/missing") == nil)
        #expect(try !FileIO.remove(fixture.root + "/missing"))
        let error = #expect(throws: FileError.self) { try FileIO.writeDurably([1], to: fixture.root + "/no/such/folder/item") }
        guard case .io(let operation, let path, let code) = error else {
            Issue.record("expected an io error, got \(String(describing: error))")
            return
        }
        #expect(operation == "create" && code == ENOENT)
        #expect(path.hasPrefix(fixture.root + "/no/such/folder/.tmp-"))
        #expect(error?.description.hasPrefix("create '\(path)' failed: No such file or directory") == true)
    }

    @Test func foldersAreMadeWithTheirMissingParents() throws {
        let folder = fixture.root + "/tables/models/partition"
        try FileIO.makeDirectories(folder)
        try FileIO.makeDirectories(folder)  // again: already there is fine
        #expect(FileIO.isDirectory(folder))
        #expect(FileIO.parent(of: folder) == fixture.root + "/tables/models")
        #expect(FileIO.parent(of: "/top") == "/" && FileIO.parent(of: "bare") == ".")
    }
}
