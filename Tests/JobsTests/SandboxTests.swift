import Foundation
import Home
import Testing
@testable import Jobs

/// The sandbox on its own, as an endpoint worker uses it: an unprivileged user with no
/// capabilities, code and model read-only, a private `/tmp`, no network, limits for the tree.
@Suite struct SandboxTests {
    let root: String

    init() throws {
        var template = Array((NSTemporaryDirectory() + "slipway-sandbox-XXXXXX").utf8CString)
        root = String(cString: mkdtemp(&template)!)
        try FileManager.default.createDirectory(atPath: root + "/code", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: root + "/model", withIntermediateDirectories: true)
        try Data("weights\n".utf8).write(to: URL(fileURLWithPath: root + "/model/weights.txt"))
    }

    func workerSandbox() -> Sandbox {
        var sandbox = Sandbox.isolated()
        sandbox.mounts += [.temporary(at: "/opt"), .readOnly(root + "/code", at: "/opt/ml/code"), .readOnly(root + "/model", at: "/opt/ml/model")]
        sandbox.limits = ResourceLimits(memoryBytes: 512 << 20)
        sandbox.workingDirectory = "/opt/ml/model"
        return sandbox
    }

    @Test func theCommandLineIsAnUnprivilegedUserInNewNamespacesWithNoCapabilitiesThenTheMounts() {
        let line = workerSandbox().commandLine("/usr/bin/python3", ["serve.py"])
        #expect(Array(line.prefix(17)) == [
            "/usr/bin/bwrap", "--unshare-user", "--uid", "65534", "--gid", "65534", "--unshare-pid", "--unshare-ipc", "--unshare-uts",
            "--hostname", "sandbox", "--unshare-net", "--new-session", "--die-with-parent", "--cap-drop", "ALL", "--proc",
        ])
        #expect(Array(line.suffix(10)) == [
            "--ro-bind", root + "/model", "/opt/ml/model", "--remount-ro", "/", "--chdir", "/opt/ml/model", "--", "/usr/bin/python3", "serve.py",
        ])
        #expect(!line.contains("/root") && !line.contains("/home") && !line.contains("/etc/shadow"))
        let hostRootBound = line.indices.dropLast().contains { ["--ro-bind", "--bind"].contains(line[$0]) && line[$0 + 1] == "/" }
        #expect(!hostRootBound, "the host's root is not bound")
    }

    @Test func withoutAControlGroupTheLimitsFallBackToPerProcessRlimits() {
        let prepared = workerSandbox().prepare("/bin/true", [], environment: [:], name: "fallback", cgroupRoot: root + "/no-cgroups")
        #expect(prepared.group == nil)
        #expect(prepared.spec.executable == Sandbox.prlimit && prepared.spec.arguments.first == "--as=\(512 << 20)")
        #expect(prepared.enforcement.hasPrefix("rlimits, per process"), "\(prepared.enforcement)")
    }

    @Test func aWorkerSeesItsModelReadOnlyWritesTmpAndHasNoNetwork() async throws {
        let script = """
            cat weights.txt
            touch /opt/ml/model/new 2>/dev/null && echo model-writable || echo model-read-only
            touch /tmp/scratch && echo tmp-writable
            tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' '
            """
        let run = try await workerSandbox().run("/bin/sh", ["-c", script], environment: ["PATH": "/usr/bin:/bin"], name: "sandbox-test")
        #expect(run.enforcement.hasPrefix("cgroup v1: memory 512MiB"), "\(run.enforcement)")
        let result = run.process
        #expect(result.succeeded, "\(result.output)")
        let lines = result.output.split(separator: "\n").map(String.init)
        #expect(lines.prefix(3) == ["weights", "model-read-only", "tmp-writable"])
        #expect(lines.dropFirst(3) == ["lo"], "only the loopback interface: \(result.output)")
        #expect(!FileManager.default.fileExists(atPath: root + "/model/new"))
    }

    @Test func aWorkerRunsAsALongLivedChildInTheSandbox() async throws {
        let echoed = try await workerSandbox().withChild("/bin/cat", [], environment: [:], name: "sandbox-cat", errorLog: root + "/worker.log") { worker in
            var reader = ChildOutput.Reader(worker.output)
            try await worker.write(Array("ping\n".utf8))
            return try await reader.read(exactly: 5)
        }
        #expect(echoed == Array("ping\n".utf8))
    }
}
