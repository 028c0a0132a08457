import GitWatcher
import Logging
import Synchronization

/// Waits for a change in watched folders (inotify) or for an interval to pass, without
/// holding a thread: the inotify descriptor is checked between short sleeps on the
/// injected clock, and the interval is the polling fallback that catches whatever
/// inotify cannot see (folders created later, another machine's writes).
package final class Changes: Sendable {
    /// The longest wait without a change.
    package let interval: Duration
    /// How often the inotify descriptor is checked while waiting.
    package let tick: Duration
    let clock: any Clock<Duration>
    private let monitor: Mutex<ChangeMonitor?>

    /// Waits of at most `interval`, checked every `tick`, on `clock`. Without inotify
    /// (a descriptor limit, say) it falls back to the interval alone, and says so.
    package init(interval: Duration, tick: Duration = .milliseconds(100), clock: any Clock<Duration> = ContinuousClock(), logger: Logger) {
        self.interval = interval
        self.tick = tick
        self.clock = clock
        do {
            monitor = Mutex(try ChangeMonitor())
        } catch {
            logger.warning("inotify is not available (\(error)); changes are seen at the next scan")
            monitor = Mutex(nil)
        }
    }

    /// Returns when one of `folders` changed or `interval` passed; throws when the task
    /// is cancelled. Folders that do not exist yet are watched once they do.
    package func next(watching folders: [String]) async throws {
        monitor.withLock { monitor in folders.forEach { monitor?.watch($0) } }
        var waited = Duration.zero
        while waited < interval {
            if monitor.withLock({ $0?.wait(timeout: 0) ?? false }) { return }
            let step = min(tick, interval - waited)
            try await clock.sleep(for: step)
            waited += step
        }
    }
}
