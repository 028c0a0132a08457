import ArgumentParser
import Registry

#if canImport(Glibc)
import Glibc
#endif

/// `--home PATH`: the state folder, else $SLIPWAY_HOME, else ~/.slipway.
struct HomeOption: ParsableArguments {
    @Option(name: .long, help: "The state folder (default: $SLIPWAY_HOME, else ~/.slipway).")
    var home: String?

    /// The resolved home folder.
    var path: String {
        if let home { return home }
        if let env = getenv("SLIPWAY_HOME").map({ String(cString: $0) }), !env.isEmpty { return env }
        let user = getenv("HOME").map { String(cString: $0) } ?? "."
        return user + "/.slipway"
    }

    /// The home as an absolute path (what hooks and services remember).
    var absolutePath: String {
        let p = path
        return p.hasPrefix("/") ? p : (String(cString: getcwd(nil, 0)) + "/" + p)
    }

    /// Where Python environments are cached: `$SLIPWAY_ENVIRONMENTS`, else `HOME/envs`
    /// (several homes on one machine may share one cache).
    var environments: String? {
        getenv("SLIPWAY_ENVIRONMENTS").map { String(cString: $0) }.flatMap { $0.isEmpty ? nil : $0 }
    }

    /// Opens the home's registry. `SLIPWAY_CRASH_POINT` (a testing hook) names a
    /// transaction step at which the process kills itself.
    func registry() throws -> Registry {
        var options = Registry.Options()
        if let raw = getenv("SLIPWAY_CRASH_POINT").map({ String(cString: $0) }) {
            guard let point = Registry.CrashPoint(rawValue: raw) else {
                throw CommandFailure(
                    message: "unknown SLIPWAY_CRASH_POINT '\(raw)'; expected one of \(Registry.CrashPoint.allCases.map(\.rawValue).joined(separator: ", "))",
                    status: ExitStatus.usage)
            }
            options.crashPoint = point
        }
        return try Registry(home: path, options: options)
    }
}
