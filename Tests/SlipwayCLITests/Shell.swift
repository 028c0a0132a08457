import Foundation
import Registry

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
    func run(_ script: String) async throws -> Slipway.Result {
        try await start(script).wait()
    }

    /// A bare repository `model.git` with the hook installed and a clone `work` holding a
    /// scaffolded model, committed (not pushed).
    func modelRepository(name: String = "demand") async throws {
        let result = try await run("""
            set -e
            git init -q --bare -b main model.git
            "$SLIPWAY" hook install model.git --name \(name) >/dev/null
            git clone -q model.git work 2>/dev/null
            "$SLIPWAY" model init work --name \(name) >/dev/null
            cd work && git checkout -q -b main && git add . && git commit -q -m 'first model'
            """)
        guard result.status == 0 else { throw CocoaError(.fileWriteUnknown, userInfo: [NSLocalizedDescriptionKey: result.stderr]) }
    }

    /// A bare repository `model.git` (hook installed, model named `name`) and a clone `work`
    /// holding a copy of `fixtures/FIXTURE`, committed (not pushed).
    func fixtureRepository(_ fixture: String, name: String) async throws {
        let source = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../fixtures/\(fixture)").standardized.path
        let result = try await run("""
            set -e
            git init -q --bare -b main model.git
            "$SLIPWAY" hook install model.git --name \(name) >/dev/null
            git clone -q model.git work 2>/dev/null
            cp -R '\(source)'/. work/
            cd work && git checkout -q -b main && git add . && git commit -q -m 'first model'
            """)
        guard result.status == 0 else { throw CocoaError(.fileWriteUnknown, userInfo: [NSLocalizedDescriptionKey: result.stderr]) }
    }

    /// Starts an HTTP server on 127.0.0.1 that appends each POST body to `received.jsonl`
    /// (in the root folder), answering 500 to the first `failFirst` requests and 204 after.
    /// Returns it and its port.
    func startWebhookReceiver(failFirst: Int = 0) async throws -> (Slipway.Running, Int) {
        let script = """
            import http.server
            seen = 0
            class Receiver(http.server.BaseHTTPRequestHandler):
                def do_POST(self):
                    global seen
                    seen += 1
                    body = self.rfile.read(int(self.headers["Content-Length"]))
                    if seen <= \(failFirst):
                        self.send_response(500); self.end_headers(); return
                    with open("received.jsonl", "ab") as f:
                        f.write(body + b"\\n")
                    self.send_response(204); self.end_headers()
                def log_message(self, *args):
                    pass
            server = http.server.HTTPServer(("127.0.0.1", 0), Receiver)
            open("receiver.port.tmp", "w").write(str(server.server_port))
            import os; os.rename("receiver.port.tmp", "receiver.port")
            server.serve_forever()
            """
        try Data(script.utf8).write(to: URL(fileURLWithPath: root + "/receiver.py"))
        let receiver = try start("exec python3 receiver.py")
        for _ in 0..<100 {
            if let text = try? String(contentsOfFile: root + "/receiver.port", encoding: .utf8), let port = Int(text) { return (receiver, port) }
            try? await Task.sleep(for: .seconds(0.1))
        }
        receiver.kill()
        throw CocoaError(.fileReadNoSuchFile, userInfo: [NSLocalizedDescriptionKey: "the webhook receiver did not start"])
    }

    /// The JSON bodies the webhook receiver got, in order.
    func received() -> [JSONValue] {
        let text = (try? String(contentsOfFile: root + "/received.jsonl", encoding: .utf8)) ?? ""
        return text.split(separator: "\n").compactMap { try? JSONValue(parsing: String($0)) }
    }
}
