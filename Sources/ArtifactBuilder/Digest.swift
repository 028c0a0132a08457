import Crypto
import Foundation

/// Content digests: lowercase hex SHA-256.
package enum Digest {
    /// The SHA-256 of bytes.
    package static func sha256(_ bytes: some DataProtocol) -> String {
        SHA256.hash(data: bytes).map { String(format: "%02x", $0) }.joined()
    }

    /// The SHA-256 of a canonical list of lines (each line then a newline).
    package static func sha256(lines: [String]) -> String {
        sha256(Array(lines.map { $0 + "\n" }.joined().utf8))
    }

    /// The digest of a host file or folder: every regular file's relative path, mode and
    /// content, in path order (symlinks by their target). Throws when it does not exist.
    package static func ofHostPath(_ path: String) throws -> String {
        let manager = FileManager.default
        var isFolder: ObjCBool = false
        guard manager.fileExists(atPath: path, isDirectory: &isFolder) else {
            throw CocoaError(.fileReadNoSuchFile, userInfo: [NSFilePathErrorKey: path])
        }
        if !isFolder.boolValue { return sha256(try Data(contentsOf: URL(fileURLWithPath: path))) }
        var lines: [String] = []
        for relative in (manager.subpaths(atPath: path) ?? []).sorted() {
            let full = path + "/" + relative
            let attributes = try manager.attributesOfItem(atPath: full)
            switch attributes[.type] as? FileAttributeType {
            case .typeRegular?:
                lines.append("\(relative) \(sha256(try Data(contentsOf: URL(fileURLWithPath: full))))")
            case .typeSymbolicLink?:
                lines.append("\(relative) -> \(try manager.destinationOfSymbolicLink(atPath: full))")
            default: continue
            }
        }
        return sha256(lines: lines)
    }
}
