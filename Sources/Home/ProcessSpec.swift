import Foundation

/// What to start: an executable by absolute path, its arguments, the whole environment it
/// sees (nothing is inherited unless the caller puts it there) and its working folder.
package struct ProcessSpec: Sendable, Equatable {
    /// The executable's absolute path (`Processes.which` finds one on `PATH`).
    package var executable: String
    /// The arguments after the executable's name.
    package var arguments: [String]
    /// The child's entire environment. Start from `ProcessSpec.inheritedEnvironment` to
    /// pass this process's own variables on.
    package var environment: [String: String]
    /// The folder the child starts in; nil: this process's current folder.
    package var workingDirectory: String?

    /// A spec; the environment is empty unless given.
    package init(_ executable: String, _ arguments: [String] = [], environment: [String: String] = [:], workingDirectory: String? = nil) {
        self.executable = executable
        self.arguments = arguments
        self.environment = environment
        self.workingDirectory = workingDirectory
    }

    /// This process's environment now, for a caller that wants its child to see it.
    package static var inheritedEnvironment: [String: String] {
        ProcessInfo.processInfo.environment
    }

    /// The command as a person would type it, for messages.
    package var commandLine: String {
        ([executable] + arguments).map { $0.contains(" ") || $0.isEmpty ? "'\($0)'" : $0 }.joined(separator: " ")
    }
}

/// Why a child process could not be run (a child that ran and failed is a `ProcessResult`).
package struct ProcessError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What was being done: "start", "open the input file", "open the log file".
    package var operation: String
    /// The file or command concerned.
    package var subject: String
    /// The system's reason.
    package var reason: String
    /// What a person can do about it.
    package var hint: String

    /// An error of `operation` on `subject`.
    package init(operation: String, subject: String, reason: String, hint: String) {
        self.operation = operation
        self.subject = subject
        self.reason = reason
        self.hint = hint
    }

    /// "cannot start '/usr/bin/nope': No such file or directory; check that it is installed ..."
    package var description: String { "cannot \(operation) '\(subject)': \(reason); \(hint)" }

    /// The error for a failed system call on a path.
    static func system(_ operation: String, _ path: String, errno code: Int32, hint: String) -> ProcessError {
        ProcessError(operation: operation, subject: path, reason: String(cString: strerror(code)), hint: hint)
    }
}

/// A finished child: how it ended and the tail of what it printed.
package struct ProcessResult: Sendable, Equatable {
    /// The exit status; 128 + N when signal N ended it.
    package var status: Int32
    /// The last bytes (at most `Processes.tailLimit`) of standard output and error together.
    package var output: String
    /// Whether the timeout passed and the process group was ended.
    package var timedOut: Bool
    /// Whether the log file reached its limit and later output was dropped.
    package var truncated: Bool

    /// Exit status 0 within the timeout.
    package var succeeded: Bool { status == 0 && !timedOut }
}
