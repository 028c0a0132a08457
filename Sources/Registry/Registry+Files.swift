import Home

extension RegistryError {
    /// The registry's error for a failed file operation of `Home`: the same case, so the
    /// same message (`io`, `lockTimeout`).
    init(_ error: FileError) {
        switch error {
        case .io(let operation, let path, let code): self = .io(operation: operation, path: path, errno: code)
        case .lockTimeout(let path, let seconds): self = .lockTimeout(path: path, seconds: seconds)
        }
    }
}

/// Runs a file operation of `Home` (`FileIO`, `FileLock`), its failure as a `RegistryError`:
/// `try disk(FileIO.read(path))`.
@discardableResult
func disk<T>(_ operation: @autoclosure () throws(FileError) -> T) throws(RegistryError) -> T {
    do {
        return try operation()
    } catch {
        throw RegistryError(error)
    }
}
