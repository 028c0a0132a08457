import Foundation
import Home
import Testing
@testable import Jobs

/// The sandbox on its own, as an endpoint worker uses it: code and model read-only, a
/// writable temporary folder, no network, a memory limit.
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
        var sandbox = Sandbox.hostReadOnly()
        sandbox.mounts += [.readOnly(root + "/code", at: "/opt/ml/code"), .readOnly(root + "/model", at: "/opt/ml/model"), .temporary(at: "/tmp")]
        sandbox.memoryBytes = 512 << 20
        sandbox.workingDirectory = "/opt/ml/model"
        return sandbox
    }

    @Test func theCommandLineIsTheLimitsThenBubblewrapThenTheCommand() {
        var sandbox = workerSandbox()
        sandbox.cpus = nil
        let line = sandbox.commandLine("/usr/bin/python3", ["serve.py"])
        #expect(line == [
            "/usr/bin/prlimit", "--as=536870912", "--", "/usr/bin/bwrap", "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc",
            "--tmpfs", "/opt", "--ro-bind", root + "/code", "/opt/ml/code", "--ro-bind", root + "/model", "/opt/ml/model",
            "--tmpfs", "/tmp", "--unshare-net", "--die-with-parent", "--chdir", "/opt/ml/model", "--", "/usr/bin/python3", "serve.py",
        ])
    }

    @Test func aWorkerSeesItsModelReadOnlyWritesTmpAndHasNoNetwork() async throws {
        let script = """
            cat weights.txt
            touch /opt/ml/model/new 2>/dev/null && echo model-writable || echo model-read-only
            touch /tmp/scratch && echo tmp-writable
            tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' '
            """
        let spec = workerSandbox().processSpec("/bin/sh", ["-c", script], environment: ["PATH": "/usr/bin:/bin"])
        let result = try await Processes.run(spec)
        #expect(result.succeeded, "\(result.output)")
        let lines = result.output.split(separator: "\n").map(String.init)
        #expect(lines.prefix(3) == ["weights", "model-read-only", "tmp-writable"])
        #expect(lines.dropFirst(3) == ["lo"], "only the loopback interface: \(result.output)")
        #expect(!FileManager.default.fileExists(atPath: root + "/model/new"))
    }

    @Test func aWorkerRunsAsALongLivedChildInTheSandbox() async throws {
        let spec = workerSandbox().processSpec("/bin/cat", [], environment: [:])
        let echoed = try await Processes.withChild(spec, errorLog: root + "/worker.log") { worker in
            var reader = ChildOutput.Reader(worker.output)
            try await worker.write(Array("ping\n".utf8))
            return try await reader.read(exactly: 5)
        }
        #expect(echoed == Array("ping\n".utf8))
    }
}
