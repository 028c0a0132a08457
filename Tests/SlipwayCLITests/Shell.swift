import Foundation

/// Runs shell scripts with `$SLIPWAY` (the built binary), `$SLIPWAY_HOME`, a shared
/// environment cache and a git identity set: the way a user drives git and slipway.
final class Shell {
    let root: String
    var home: String { root + "/home" }
    /// One Python environment cache for the whole test run (a venv takes seconds).
    static let environments = NSTemporaryDirectory() + "slipway-cli-envs-\(getpid())"

    init() {
        var template = Array((NSTemporaryDirectory() + "slipway-sh-XXXXXX").utf8CString)
        root = String(cString: mkdtemp(&template)!)
    }

    deinit { try? FileManager.default.removeItem(atPath: root) }

    var environment: [String: String] {
        [
            "SLIPWAY": Slipway.binary, "SLIPWAY_HOME": home, "SLIPWAY_ENVIRONMENTS": Self.environments,
            "GIT_AUTHOR_NAME": "Ada", "GIT_AUTHOR_EMAIL": "ada@example.com",
            "GIT_COMMITTER_NAME": "Ada", "GIT_COMMITTER_EMAIL": "ada@example.com",
        ]
    }

    /// Starts `sh -ec SCRIPT` in the root folder.
    func start(_ script: String) throws -> Slipway.Running {
        try Slipway.Running(executable: "/bin/sh", arguments: ["-c", "cd '\(root)' && " + script], environment: environment, input: nil)
    }

    /// Runs `sh -c SCRIPT` in the root folder to the end.
    @discardableResult
    func run(_ script: String) throws -> Slipway.Result {
        try start(script).wait()
    }

    /// A bare repository `model.git` with the hook installed and a clone `work` holding a
    /// scaffolded model, committed (not pushed).
    func modelRepository(name: String = "demand") throws {
        let result = try run("""
            set -e
            git init -q --bare -b main model.git
            "$SLIPWAY" hook install model.git --name \(name) >/dev/null
            git clone -q model.git work 2>/dev/null
            "$SLIPWAY" model init work --name \(name) >/dev/null
            cd work && git checkout -q -b main && git add . && git commit -q -m 'first model'
            """)
        guard result.status == 0 else { throw CocoaError(.fileWriteUnknown, userInfo: [NSLocalizedDescriptionKey: result.stderr]) }
    }
}
