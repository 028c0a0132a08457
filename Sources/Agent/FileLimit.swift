#if canImport(Glibc)
import Glibc
#endif
import Logging

/// The process's limit on open files. Every HTTP connection, worker pipe and build holds
/// descriptors; the usual soft limit of 1,024 is reached long before the hard one.
enum FileLimit {
    /// The most the soft limit is raised to: past this, a program that closes every
    /// descriptor up to the limit before `exec` would spend seconds doing it.
    static let ceiling: rlim_t = 1 << 16

    /// Raises the soft limit toward the hard limit (at most `ceiling`) and logs what it did.
    static func raise(logger: Logger) {
        var limit = rlimit()
        guard getrlimit(resource, &limit) == 0 else {
            logger.warning("cannot read the open-file limit", metadata: ["error.errno": "\(errno)"])
            return
        }
        let wanted = min(limit.rlim_max, ceiling)
        guard limit.rlim_cur < wanted else {
            logger.info("open-file limit", metadata: ["limit.soft": "\(limit.rlim_cur)", "limit.hard": "\(limit.rlim_max)"])
            return
        }
        let before = limit.rlim_cur
        limit.rlim_cur = wanted
        if setrlimit(resource, &limit) == 0 {
            logger.info("raised the open-file limit", metadata: ["limit.before": "\(before)", "limit.soft": "\(wanted)", "limit.hard": "\(limit.rlim_max)"])
        } else {
            logger.warning("cannot raise the open-file limit; connections and builds may fail with 'Too many open files'",
                           metadata: ["limit.soft": "\(before)", "limit.hard": "\(limit.rlim_max)", "error.errno": "\(errno)"])
        }
    }

    #if canImport(Glibc)
    private static let resource = __rlimit_resource_t(RLIMIT_NOFILE.rawValue)
    #else
    private static let resource = RLIMIT_NOFILE
    #endif
}
