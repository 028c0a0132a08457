import ArtifactBuilder
import Foundation
import Home
import Testing
@testable import Jobs

/// A hostile model's training script (`Hostile/hostile.py`) run as a real job in the real
/// sandbox, as root: every way out it tries fails and is reported in the job's log, the
/// host is untouched, and the limits hold for the whole process tree.
@Suite(.serialized) struct HostileModelTests {
    let root: String
    let code: String
    let runner: LocalSandboxBackend
    let python: String
    let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Hostile").path

    static let environments = NSTemporaryDirectory() + "slipway-hostile-envs-\(getpid())"

    init() async throws {
        var template = Array((NSTemporaryDirectory() + "slipway-hostile-XXXXXX").utf8CString)
        root = String(cString: mkdtemp(&template)!)
        code = root + "/code"
        try FileManager.default.copyItem(atPath: fixture, toPath: code)
        runner = LocalSandboxBackend(folder: root + "/home/jobs", baseEnvironment: ["PATH": "/usr/bin:/bin"])
        python = try await PythonEnvironments(folder: Self.environments).environment(requirements: nil, log: { _ in }).python
    }

    func spec(_ mode: String, _ arguments: [String] = [], memory: Int64 = 512 << 20) -> JobSpec {
        var spec = JobSpec(kind: .training, stage: "train", codePath: code, script: "hostile.py", python: python,
                           resources: JobResources(cpus: 1, memoryBytes: memory, timeoutSeconds: 120))
        spec.arguments = [mode] + arguments
        return spec
    }

    /// The `ATTEMPT NAME OUTCOME DETAIL` lines of a log, by name.
    func attempts(_ log: String) throws -> [String: String] {
        let text = try String(contentsOfFile: log, encoding: .utf8)
        var found: [String: String] = [:]
        for line in text.split(separator: "\n") where line.hasPrefix("ATTEMPT ") {
            let parts = line.split(separator: " ", maxSplits: 2).map(String.init)
            found[parts[1]] = line.dropFirst(8 + parts[1].count + 1).description
        }
        return found
    }

    @Test func aHostileJobCanNeitherReadNorWriteTheHostRemountSetnsNorReachTheAgent() async throws {
        let home = root + "/home"
        try FileManager.default.createDirectory(atPath: home + "/registry", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: home + "/artifacts/other-model", withIntermediateDirectories: true)
        try Data(#"{"formatVersion": 1}"#.utf8).write(to: URL(fileURLWithPath: home + "/registry/format.json"))
        try Data("other model's weights\n".utf8).write(to: URL(fileURLWithPath: home + "/artifacts/other-model/weights.bin"))
        try Data("canary\n".utf8).write(to: URL(fileURLWithPath: root + "/canary"))
        let listener = try Listener()
        defer { listener.close() }

        let targets = [
            "read-registry=\(home)/registry/format.json", "read-other-artifact=\(home)/artifacts/other-model/weights.bin",
            "list-home=\(home)", "write-canary=\(root)/canary", "write-registry=\(home)/registry/format.json",
            "write-code=/opt/ml/code/hostile.py", "agent-pid=\(getpid())",
        ].flatMap { ["--target", $0] }
        let result = try await runner.run(spec("escapes", targets + ["--port", "\(listener.port)"]), id: "escapes")

        let found = try attempts(result.logPath)
        let expected = ["capabilities", "root-user", "read-shadow", "list-root", "read-registry", "read-other-artifact", "write-canary",
                        "write-registry", "write-code", "write-usr", "remount", "remount-command", "setns-1", "setns-\(getpid())", "connect-agent"]
        for name in expected {
            let outcome = try #require(found[name], "no report of '\(name)' in \(found)")
            #expect(outcome.hasPrefix("blocked"), "\(name): \(outcome)")
        }
        #expect(found["capabilities"]?.contains("CapEff 0000000000000000") == true)
        #expect(found["root-user"]?.contains("uid 65534") == true)
        #expect(try String(contentsOfFile: root + "/canary", encoding: .utf8) == "canary\n")
        #expect(try String(contentsOfFile: home + "/registry/format.json", encoding: .utf8) == #"{"formatVersion": 1}"#)
        #expect(FileManager.default.contentsEqual(atPath: code + "/hostile.py", andPath: fixture + "/hostile.py"))
        #expect(!FileManager.default.fileExists(atPath: "/usr/hostile"))
        #expect(listener.acceptedAny() == false, "the job reached the agent's port")
        let log = try String(contentsOfFile: result.logPath, encoding: .utf8)
        #expect(log.contains("[slipway: limits by cgroup v1: memory 512MiB, 256 processes"), "\(log.prefix(300))")
    }

    @Test func aForkBombStopsAtTheJobsProcessCap() async throws {
        let result = try await runner.run(spec("fork"), id: "fork")
        let outcome = try #require(try attempts(result.logPath)["fork-1000"])
        #expect(outcome.hasPrefix("blocked"), "\(outcome)")
        let started = Int(outcome.split(separator: " ")[2]) ?? -1
        #expect(started > 10 && started < ResourceLimits.defaultProcesses, "\(outcome)")
    }

    @Test func fourChildrenCannotHoldMoreThanTheJobsMemoryTogether() async throws {
        // 4 × 200 MiB under 512 MiB: per-process limits allowed it; the tree's group does not.
        let failure = await #expect(throws: JobFailure.self) {
            try await runner.run(spec("memory", ["--target", "bytes-per-child=\(200 << 20)"], memory: 512 << 20), id: "memory")
        }
        #expect(failure?.error == "Job.OutOfMemory", "\(failure?.cause ?? "")")
        #expect(failure?.cause.contains("out of memory: limit 512MiB for train") == true, "\(failure?.cause ?? "")")
        let peak = try #require(failure?.peakMemoryBytes)
        #expect(peak <= 512 << 20 && peak > 256 << 20, "peak \(peak >> 20) MiB")
        let outcome = try attempts(try #require(failure?.logPath))["memory-4-children"]
        #expect(outcome?.hasPrefix("ESCAPED") != true, "\(outcome ?? "no report: the script itself was killed")")
    }

    @Test func aSetsidDaemonDoesNotOutliveItsJob() async throws {
        let token = "slipway-hostile-daemon-\(UUID().uuidString)"
        let result = try await runner.run(spec("daemon", ["--token", token]), id: "daemon")
        #expect(try attempts(result.logPath)["daemon"] != nil)
        let survivors = Self.processes(naming: token)
        #expect(survivors.isEmpty, "still running: \(survivors)")
    }

    @Test func aJobPrinting200MBStreamsToALogCappedAt64MiB() async throws {
        let result = try await runner.run(spec("print"), id: "print")
        let size = try #require(try FileManager.default.attributesOfItem(atPath: result.logPath)[.size] as? Int)
        #expect(size > 60 << 20 && size < (64 << 20) + 4096, "log of \(size) bytes")
        let log = try FileHandle(forReadingFrom: URL(fileURLWithPath: result.logPath))
        try log.seek(toOffset: UInt64(size - 4096))
        let end = String(decoding: try log.readToEnd() ?? Data(), as: UTF8.self)
        #expect(end.contains("[slipway: output truncated at \(64 << 20) bytes; the rest was dropped]"))
        #expect(result.log.utf8.count <= Processes.tailLimit + 1024, "kept \(result.log.utf8.count) bytes in memory")
    }

    /// The pids of processes whose command line contains `token`.
    static func processes(naming token: String) -> [String] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.filter { Int($0) != nil }.filter { pid in
            guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else { return false }
            return String(decoding: data, as: UTF8.self).contains(token)
        }
    }
}

/// A TCP listener on 127.0.0.1, port 0: the agent's port, for a job to try.
struct Listener {
    let descriptor: Int32
    let port: Int

    init() throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let size = length
        let bound = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, size) } }
        guard fd >= 0, bound == 0, listen(fd, 8) == 0 else { throw POSIXError(.EADDRINUSE) }
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
        descriptor = fd
        port = Int(UInt16(bigEndian: address.sin_port))
    }

    /// Whether a connection is waiting (accepts it).
    func acceptedAny() -> Bool {
        let client = accept(descriptor, nil, nil)
        if client >= 0 { Glibc.close(client) }
        return client >= 0
    }

    func close() { Glibc.close(descriptor) }
}
