import Logging
import ServiceLifecycle

/// How a service loop that keeps failing waits and logs. Each failure in a row doubles the
/// wait before the next attempt (from `initial` up to `cap`); a failure is logged only when
/// its message differs from the one logged last, and the first success after failures logs
/// that it cleared and resets the wait. A full disk (ENOSPC) or a failing device (EIO) thus
/// costs one log line and an attempt every `cap` at most, never a spinning CPU.
package struct FailureBackoff: Sendable {
    /// The wait after the first failure.
    package let initial: Duration
    /// The longest wait.
    package let cap: Duration
    /// The failure logged last, while it lasts.
    package private(set) var current: String?
    /// Failures in a row.
    package private(set) var failures = 0

    /// Waits from `initial`, doubling up to `cap`.
    package init(initial: Duration = .milliseconds(500), cap: Duration = .seconds(30)) {
        self.initial = initial
        self.cap = max(initial, cap)
    }

    /// The wait after `failures` failures in a row: `initial` doubled each time, at most `cap`.
    package var delay: Duration {
        var delay = initial
        for _ in 1..<max(1, failures) {
            delay *= 2
            if delay >= cap { return cap }
        }
        return min(delay, cap)
    }

    /// Counts a failure of `what` and returns how long to wait before trying again; logs it
    /// (an error, with the wait) unless the same failure was logged last.
    package mutating func failed(_ what: String, _ message: String, logger: Logger, metadata: Logger.Metadata = [:]) -> Duration {
        failures += 1
        if message != current {
            current = message
            var fields = metadata
            fields["error.message"] = "\(message)"
            logger.error("\(what) failed; trying again with back-off, up to every \(cap) (logged again only when the error changes)", metadata: fields)
        }
        return delay
    }

    /// Counts a success of `what`: after failures, logs that they cleared and resets the wait.
    package mutating func succeeded(_ what: String, logger: Logger, metadata: Logger.Metadata = [:]) {
        guard failures > 0 else { return }
        if let current {
            var fields = metadata
            fields["error.message"] = "\(current)"
            logger.notice("\(what) works again after \(failures) failed attempts", metadata: fields)
        }
        current = nil
        failures = 0
    }

    /// Runs `pass` until the task is cancelled, the group shuts down gracefully or a wait
    /// throws: after a pass that reports no problem, `next` (the next change); after one
    /// that reports a problem (its message), the back-off on `clock`, then `pass` again.
    package static func loop(
        _ what: String, clock: any Clock<Duration>, backoff initial: FailureBackoff = FailureBackoff(), logger: Logger,
        pass: () async -> String?, next: @escaping @Sendable () async throws -> Void
    ) async {
        var backoff = initial
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            do {
                if let problem = await pass() {
                    let delay = backoff.failed(what, problem, logger: logger)
                    try await cancelWhenGracefulShutdown { try await clock.sleep(for: delay) }
                } else {
                    backoff.succeeded(what, logger: logger)
                    try await cancelWhenGracefulShutdown { try await next() }
                }
            } catch {
                return  // cancelled or shutting down
            }
        }
    }
}
