import Foundation
import Testing
@testable import Home

/// Folders made whole before they are renamed into place, and the sweep of what a killed
/// process left half made.
@Suite struct DurableFoldersTests {
    let root: String

    init() throws {
        var template = Array((NSTemporaryDirectory() + "slipway-durable-XXXXXX").utf8CString)
        root = String(cString: mkdtemp(&template)!)
    }

    @Test func aWholeTreeSyncsAndAMissingOneNamesItsPath() throws {
        try FileManager.default.createDirectory(atPath: root + "/out/a/b", withIntermediateDirectories: true)
        try Data("x".utf8).write(to: URL(fileURLWithPath: root + "/out/a/b/file"))
        try DurableFolders.sync(root + "/out")
        try DurableFolders.syncParent(of: root + "/out")
        let error = #expect(throws: FileError.self) { try DurableFolders.sync(root + "/missing") }
        #expect(error?.description.contains("'\(root)/missing'") == true)
        try? FileManager.default.removeItem(atPath: root)
    }

    @Test func theSweepRemovesOnlyScratchFolders() throws {
        for name in ["KEY", "KEY.staging-1", "OTHER.incomplete-2", "M.partial-3-x"] {
            try FileManager.default.createDirectory(atPath: root + "/" + name, withIntermediateDirectories: true)
        }
        let swept = DurableFolders.sweep(root, markers: [".staging-", ".incomplete-", ".partial-"])
        #expect(Set(swept) == ["KEY.staging-1", "OTHER.incomplete-2", "M.partial-3-x"])
        #expect(try FileManager.default.contentsOfDirectory(atPath: root) == ["KEY"])
        try? FileManager.default.removeItem(atPath: root)
    }
}
