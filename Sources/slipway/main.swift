import ArgumentParser

#if canImport(Glibc)
import Glibc
#endif

/// Runs an async command through its async `run()` (the protocol also has a synchronous one).
func runAsynchronously<Command: AsyncParsableCommand>(_ command: inout Command) async throws {
    try await command.run()
}

/// Entry point: parse, run, and map every outcome to Slipway's exit statuses
/// (0 success, 1 failure, 2 usage error, 3 condition failed, 4 not found).
do {
    var command = try Slipway.parseAsRoot()
    if var asynchronous = command as? any AsyncParsableCommand {
        try await runAsynchronously(&asynchronous)
    } else {
        try command.run()
    }
} catch {
    exit(ExitStatus.report(error))
}
