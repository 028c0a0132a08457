import ArgumentParser
import Registry

#if canImport(Glibc)
import Glibc
#endif

/// Runs an async command through its async `run()` (the protocol also has a synchronous one).
func runAsynchronously<Command: AsyncParsableCommand>(_ command: inout Command) async throws {
    try await command.run()
}

/// Entry point: parse, run, and map every outcome to Slipway's exit statuses
/// (0 success, 1 failure, 2 usage error, 3 condition failed, 4 not found).
// Every argument must be UTF-8 text: Swift reads other bytes as U+FFFD, and two registry
// keys that differ only there would name one item. Exit 2 naming the argument, escaped.
let rawArguments = (1..<Int(CommandLine.argc)).map { index in
    CommandLine.unsafeArgv[index].map { Array(UnsafeRawBufferPointer(start: $0, count: strlen($0))) } ?? []
}
if let problem = KeyText.problem(inArguments: rawArguments) {
    writeStandardError("slipway: error: \(problem)\n")
    exit(ExitStatus.usage)
}

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
