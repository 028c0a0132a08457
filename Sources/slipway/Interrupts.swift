import Foundation
import UnixSignals

/// Ctrl-C and SIGTERM for a command that runs an execution in its own process.
enum Interrupts {
    /// Returns at the first SIGINT or SIGTERM (or when the calling task is cancelled),
    /// then gives both signals their default action back: a second Ctrl-C ends the
    /// process at once (the execution then stays RUNNING, as after a kill).
    @Sendable static func first() async {
        let signals = await UnixSignalsSequence(trapping: .sigint, .sigterm)
        for await _ in signals { break }
        signal(SIGINT, SIG_DFL)
        signal(SIGTERM, SIG_DFL)
    }
}
