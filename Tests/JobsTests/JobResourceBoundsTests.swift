import Foundation
import Testing
import Home
@testable import Jobs

/// A job asking for an impossible number of CPUs (`cpus: 1e300`, `.inf`) is refused
/// (`Job.InvalidSpec`, with the cause) before anything starts; it never traps the agent.
@Suite struct JobResourceBoundsTests {
    @Test(arguments: [1e300, Double.infinity, Double.nan, 0, -1, 5000])
    func aJobAskingForAnImpossibleCPUCountFailsWithoutStarting(cpus: Double) async throws {
        let root = NSTemporaryDirectory() + "slipway-cpus-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: root) }
        let spec = JobSpec(kind: .training, stage: "train", codePath: root, script: "train.py", python: "/nonexistent/python",
                           resources: JobResources(cpus: cpus, memoryBytes: 1 << 30, timeoutSeconds: 60))
        do throws(JobFailure) {
            _ = try await LocalSandboxBackend(folder: root + "/jobs").run(spec, id: "cpus")
            Issue.record("a job with cpus \(cpus) ran")
        } catch {
            #expect(error.error == "Job.InvalidSpec")
            #expect(error.cause.contains("cpus \(cpus) is outside"), "\(error.cause)")
            #expect(!FileManager.default.fileExists(atPath: root + "/jobs/cpus"), "nothing was prepared")
        }
    }

    @Test func wholeCPUCountsAreBoundedWithoutTrapping() {
        #expect(Sandbox.wholeCPUs(1e300, atMost: 4) == 4)
        #expect(Sandbox.wholeCPUs(.infinity, atMost: 4) == 1)
        #expect(Sandbox.wholeCPUs(.nan, atMost: 4) == 1)
        #expect(Sandbox.wholeCPUs(2.5, atMost: 4) == 3)
        #expect(Sandbox.wholeCPUs(0.5, atMost: 4) == 1)
        #expect(Sandbox.wholeCPUs(8, atMost: 0) == 1)
    }
}
