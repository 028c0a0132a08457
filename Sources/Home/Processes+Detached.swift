import Foundation

extension Processes {
    /// Starts `spec` in a session of its own that outlives this process (the agent that
    /// `slipway quickstart` leaves running, say), its standard output and error appended to
    /// `log`, standard input /dev/null; returns its pid once it has left this layer's
    /// process group.
    ///
    /// `setsid -f` alone would race: its parent exits right after forking, and the layer
    /// kills the group then, possibly before the child has called setsid(2). So the child
    /// first reports its pid, then moves its output to `log` only in its new session, and
    /// the layer's child (a `cat` reading that pipe) exits only once the pipe closes.
    package static func startDetached(_ spec: ProcessSpec, log: String) async throws(ProcessError) -> Int32 {
        try ProcessGroup.check(spec)
        let inner = #"log=$1; shift; echo $$; exec "$0" "$@" >>"$log" 2>&1 </dev/null"#
        let outer = #"/usr/bin/setsid -f /bin/sh -c "$0" "$@" | /bin/cat"#
        let wrapper = ProcessSpec(
            "/bin/sh", ["-c", outer, inner, spec.executable, log] + spec.arguments, environment: spec.environment,
            workingDirectory: spec.workingDirectory)
        let result = try await run(wrapper, timeout: .seconds(60))
        guard result.succeeded, let pid = Int32(result.output.trimmingCharacters(in: .whitespacesAndNewlines)) else {
            throw ProcessError(
                operation: "start in the background", subject: spec.commandLine,
                reason: result.timedOut ? "it did not detach within 60 s" : "exit status \(result.status): \(result.output)",
                hint: "check that /usr/bin/setsid (util-linux) is installed and '\(log)' is writable")
        }
        return pid
    }
}
