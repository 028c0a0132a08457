import Foundation
@testable import Registry

/// A fresh folder under the system temp folder, removed when the value is released.
final class TemporaryFolder {
    let path: String

    init() {
        let template = NSTemporaryDirectory() + "slipway-test-XXXXXX"
        var bytes = Array(template.utf8CString)
        path = String(cString: mkdtemp(&bytes)!)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    /// A registry in this folder.
    func registry(_ options: Registry.Options = .init()) throws -> Registry {
        try Registry(root: path + "/registry", options: options)
    }

    /// Every file under the folder, relative to it.
    func files() -> [String] {
        let enumerator = FileManager.default.enumerator(atPath: path)
        var files: [String] = []
        while let next = enumerator?.nextObject() as? String {
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: path + "/" + next, isDirectory: &isDirectory), !isDirectory.boolValue {
                files.append(next)
            }
        }
        return files.sorted()
    }
}
