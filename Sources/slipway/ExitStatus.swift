import ArgumentParser
import Registry

#if canImport(Glibc)
import Glibc
#endif

/// A failure a command reports with its own exit status.
struct CommandFailure: Error {
    /// What to print after "slipway: error: ".
    var message: String
    /// The exit status.
    var status: Int32

    /// Exit status 4 with a "not found" message.
    static func notFound(_ message: String) -> CommandFailure { CommandFailure(message: message, status: 4) }
}

/// Prints an error the way Slipway does and returns its exit status.
enum ExitStatus {
    static let failure: Int32 = 1
    static let usage: Int32 = 2
    static let conditionFailed: Int32 = 3
    static let notFound: Int32 = 4

    static func report(_ error: Error) -> Int32 {
        switch error {
        case let failure as CommandFailure:
            printError(failure.message)
            return failure.status
        case let error as RegistryError:
            printError(error.description)
            if case .conditionFailed = error { return conditionFailed }
            return failure
        default:
            let code = Slipway.exitCode(for: error)
            let message = Slipway.fullMessage(for: error)
            if code == .success {
                print(message)
                return 0
            }
            if !message.isEmpty { writeStandardError(message + "\n") }
            return code == .validationFailure ? usage : code.rawValue
        }
    }

    static func printError(_ message: String) {
        writeStandardError("slipway: error: \(message)\n")
    }
}

/// Writes text to standard error, unbuffered.
func writeStandardError(_ text: String) {
    var bytes = Array(text.utf8)
    _ = bytes.withUnsafeMutableBytes { write(2, $0.baseAddress, $0.count) }
}
