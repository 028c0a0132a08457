import ArgumentParser

#if canImport(Glibc)
import Glibc
#endif

/// Entry point: parse, run, and map every outcome to Slipway's exit statuses
/// (0 success, 1 failure, 2 usage error, 3 condition failed, 4 not found).
do {
    var command = try Slipway.parseAsRoot()
    try command.run()
} catch {
    exit(ExitStatus.report(error))
}
