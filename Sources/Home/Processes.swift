import Foundation
import Subprocess
import SystemPackage

/// The one way Slipway starts a child process (swift-subprocess underneath).
///
/// Every child leads a process group of its own, starts with an empty signal mask and
/// default signal dispositions, sees only the descriptors it was given (pipe ends are
/// close-on-exec) and exactly the environment its `ProcessSpec` holds. When the child
/// exits, whatever it left running in its group is killed; a timeout or the cancellation
/// of the calling task ends the whole group: SIGTERM, then SIGKILL after a grace period.
/// Nothing blocks a thread of the concurrency pool.
package enum Processes {
    /// How much of the end of a child's output `run` keeps in memory.
    package static let tailLimit = 64 * 1024
    /// How much of a child's output `run` writes to its log file by default.
    package static let defaultLogLimit = 64 << 20

    /// Runs `spec` to its end. Standard input is the file `input` (else /dev/null);
    /// standard output and error go together, as they arrive, to the file `log` (created
    /// or emptied) up to `logLimit` bytes, then one truncation line, and the rest is
    /// dropped; the last `tailLimit` bytes come back in the result. After `timeout` the
    /// group gets SIGTERM, then SIGKILL after `grace`. A `header` is written first, as a
    /// `[slipway: ...]` line of the log only (how the child's limits are held, say).
    ///
    /// Throws only when the child cannot be started (or a file opened); a child that fails
    /// is a result with its status.
    package static func run(
        _ spec: ProcessSpec, input: String? = nil, log: String? = nil, logLimit: Int = defaultLogLimit,
        timeout: Duration? = nil, grace: Duration = .seconds(5), header: String? = nil
    ) async throws(ProcessError) -> ProcessResult {
        try ProcessGroup.check(spec)
        var sink = try OutputSink(log: log, limit: logLimit, tailLimit: tailLimit)
        if let header { sink.header(header) }
        let standardInput = try ProcessGroup.openInput(input ?? "/dev/null")
        let outcome: ExecutionResult<Supervised, SequenceOutput, CombinedErrorOutput>
        do {
            outcome = try await Subprocess.run(
                ProcessGroup.configuration(spec, grace: grace),
                input: .fileDescriptor(standardInput, closeAfterSpawningProcess: true), output: .sequence, error: .combinedWithOutput
            ) { execution in
                await supervise(execution, sink: sink, timeout: timeout, grace: grace)
            }
        } catch {
            var unused = sink
            _ = unused.finish()  // closes the log
            throw ProcessGroup.startFailure(spec, error)
        }
        var finished = outcome.closureResult.sink
        return ProcessResult(
            status: ProcessGroup.status(outcome.terminationStatus), output: finished.finish(), timedOut: outcome.closureResult.timedOut,
            truncated: finished.truncated)
    }

    /// The absolute path of the executable `name` on this process's `PATH`, or nil; a name
    /// with a slash is checked as it is.
    package static func which(_ name: String) -> String? {
        if name.contains("/") { return access(name, X_OK) == 0 ? name : nil }
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        for folder in path.split(separator: ":") {
            let candidate = "\(folder)/\(name)"
            var isFolder: ObjCBool = false
            if access(candidate, X_OK) == 0, FileManager.default.fileExists(atPath: candidate, isDirectory: &isFolder), !isFolder.boolValue {
                return candidate
            }
        }
        return nil
    }

    /// What `supervise` hands back: the output and whether the timeout ended the group.
    struct Supervised: Sendable {
        var sink: OutputSink
        var timedOut: Bool
    }

    private enum Event: Sendable {
        case drained(OutputSink)
        case timedOut
        case stopped
    }

    /// Streams the output into `sink` while a timer watches the deadline; once the output
    /// ends and the leader has exited, kills what is left of the group.
    private static func supervise(
        _ execution: Execution<FileDescriptorInput, SequenceOutput, CombinedErrorOutput>, sink: OutputSink, timeout: Duration?,
        grace: Duration
    ) async -> Supervised {
        let output = execution.standardOutput
        var result = Supervised(sink: sink, timedOut: false)
        var leaderIsOurs = true
        await withTaskGroup(of: Event.self) { group in
            group.addTask {
                var sink = sink
                do {
                    // Ends at end of file, or when the leader exits while something it
                    // started still holds the pipe open (swift-subprocess drains what is buffered).
                    for try await buffer in output {
                        buffer.withUnsafeBytes { sink.append($0) }
                    }
                } catch {
                    sink.note("reading the output stopped: \(error)")
                }
                return .drained(sink)
            }
            if let timeout {
                group.addTask {
                    do { try await Task.sleep(for: timeout) } catch { return .stopped }
                    await execution.teardown(using: ProcessGroup.teardown(grace: grace))
                    return .timedOut
                }
            }
            while let event = await group.next() {
                switch event {
                case .drained(let drained):
                    result.sink = drained
                    leaderIsOurs = await ProcessGroup.waitForLeader(execution, grace: grace)
                    group.cancelAll()
                case .timedOut:
                    result.timedOut = true
                case .stopped:
                    break
                }
            }
        }
        ProcessGroup.killRemaining(execution.processIdentifier.value, leaderIsOurs: leaderIsOurs)
        return result
    }
}
