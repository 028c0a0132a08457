import ArtifactBuilder
import Foundation
import JSON
import Testing
@testable import Jobs

/// Real jobs in a real bubblewrap sandbox, with the scaffolded model's scripts unchanged.
@Suite(.serialized) struct LocalSandboxBackendTests {
    let root: String
    let code: String
    let runner: LocalSandboxBackend
    let python: String

    /// One environment for the whole run (a venv takes seconds).
    static let environments = NSTemporaryDirectory() + "slipway-job-envs-\(getpid())"

    init() async throws {
        var template = Array((NSTemporaryDirectory() + "slipway-jobs-XXXXXX").utf8CString)
        root = String(cString: mkdtemp(&template)!)
        code = root + "/code"
        try ModelTemplate.write(to: code, name: "demand")
        runner = LocalSandboxBackend(folder: root + "/jobs")
        let environments = try await PythonEnvironments(folder: Self.environments)
        python = try await environments.environment(requirements: Array("numpy\n".utf8), log: { _ in }).python
    }

    func spec(_ kind: JobSpec.Kind, _ script: String, memory: Int64 = 1 << 30, timeout: Int = 120) -> JobSpec {
        JobSpec(kind: kind, stage: script.replacingOccurrences(of: ".py", with: ""), codePath: code, script: script, python: python,
                resources: JobResources(cpus: 1, memoryBytes: memory, timeoutSeconds: timeout))
    }

    @Test func theScaffoldedModelsStagesRunUnchangedInSageMakersLayout() async throws {
        var preprocess = spec(.processing, "preprocess.py")
        preprocess.inputs = ["sales": code + "/data/sales.csv"]
        preprocess.outputs = ["train", "test"]
        preprocess.arguments = ["--test-fraction", "0.25"]
        let processed = try await runner.run(preprocess, id: "preprocess")
        #expect(FileManager.default.fileExists(atPath: processed.outputs["train"]! + "/train.csv"))
        #expect(processed.log.contains("train rows: 390, test rows: 130"))

        var train = spec(.training, "train.py")
        train.inputs = ["train": processed.outputs["train"]!]
        train.hyperparameters = [("ridge", "0.01")]
        let trained = try await runner.run(train, id: "train")
        let archive = try #require(trained.modelArchive)
        #expect(FileManager.default.fileExists(atPath: archive))
        let hps = try JSONValue(parsing: Array(try Data(contentsOf: URL(fileURLWithPath: trained.folder + "/input/config/hyperparameters.json"))))
        #expect(hps == ["ridge": "0.01"])

        let modelFolder = root + "/model-input"
        try FileManager.default.createDirectory(atPath: modelFolder, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: archive, toPath: modelFolder + "/model.tar.gz")
        var evaluate = spec(.processing, "evaluate.py")
        evaluate.inputs = ["model": modelFolder, "test": processed.outputs["test"]!]
        evaluate.processingDestinations = ["model", "test"]
        evaluate.outputs = ["evaluation"]
        let evaluated = try await runner.run(evaluate, id: "evaluate")
        let report = try JSONValue(parsing: Array(try Data(contentsOf: URL(fileURLWithPath: evaluated.outputs["evaluation"]! + "/evaluation.json"))))
        let mse = try #require(report["regression_metrics"]?["mse"]?["value"]?.doubleValue)
        #expect(mse > 1 && mse < 25, "mse \(mse): the generator's noise has variance 9")
        #expect((report["regression_metrics"]?["r2"]?["value"]?.doubleValue ?? 0) > 0.8)
    }

    @Test func theSandboxHasNoNetworkNoWritesOutsideAndSageMakersPaths() async throws {
        try Data(#"""
            import json, os, socket, sys
            result = {"cwd": os.getcwd(), "channels": os.environ.get("SM_CHANNELS"), "model_dir": os.environ.get("SM_MODEL_DIR"),
                      "hps": json.load(open("/opt/ml/input/config/hyperparameters.json")), "argv": sys.argv[1:],
                      "train": sorted(os.listdir(os.environ["SM_CHANNEL_TRAIN"]))}
            try:
                socket.create_connection(("1.1.1.1", 53), timeout=2); result["network"] = True
            except OSError:
                result["network"] = False
            for path in ["/etc/slipway-probe", "/opt/ml/code/probe", os.environ["SM_CHANNEL_TRAIN"] + "/probe"]:
                try:
                    open(path, "w").write("x"); result[path] = "written"
                except OSError:
                    result[path] = "refused"
            open("/opt/ml/model/ok", "w").write("x")
            print(json.dumps(result))
            """#.utf8).write(to: URL(fileURLWithPath: code + "/probe.py"))
        let data = root + "/channel"
        try FileManager.default.createDirectory(atPath: data, withIntermediateDirectories: true)
        try Data("a\n".utf8).write(to: URL(fileURLWithPath: data + "/part.csv"))
        var probe = spec(.training, "probe.py")
        probe.inputs = ["train": data]
        probe.hyperparameters = [("epochs", "3")]
        let result = try await runner.run(probe, id: "probe")
        let line = try #require(result.log.split(separator: "\n").last)
        let value = try JSONValue(parsing: String(line))
        #expect(value["network"] == false)
        #expect(value["cwd"] == "/opt/ml/code")
        #expect(value["channels"] == #"["train"]"#)
        #expect(value["model_dir"] == "/opt/ml/model")
        #expect(value["hps"] == ["epochs": "3"])
        #expect(value["argv"] == ["--epochs", "3"])
        #expect(value["train"] == ["part.csv"])
        #expect(value["/etc/slipway-probe"] == "refused")
        #expect(value["/opt/ml/code/probe"] == "refused")
        #expect(value["/opt/ml/input/data/train/probe"] == "refused")
        #expect(!FileManager.default.fileExists(atPath: "/etc/slipway-probe"))
    }

    @Test func aScriptPastItsTimeoutIsKilledWithItsGroup() async throws {
        try Data("import subprocess, time\nsubprocess.Popen(['sleep', '60'])\ntime.sleep(60)\n".utf8).write(to: URL(fileURLWithPath: code + "/slow.py"))
        let started = Date()
        let error = await #expect(throws: JobFailure.self) { try await runner.run(spec(.processing, "slow.py", timeout: 2), id: "slow") }
        #expect(error?.error == "States.Timeout")
        #expect(Date().timeIntervalSince(started) < 20)
    }

    @Test func aScriptPastItsMemoryFailsClearly() async throws {
        try Data("block = bytearray(800 * 1024 * 1024)\nprint('allocated')\n".utf8).write(to: URL(fileURLWithPath: code + "/hungry.py"))
        let error = await #expect(throws: JobFailure.self) { try await runner.run(spec(.processing, "hungry.py", memory: 256 << 20), id: "hungry") }
        #expect(error?.error == "Job.OutOfMemory")
        #expect(error?.cause.contains("out of memory: limit 256MiB") == true, "\(error?.cause ?? "")")
    }

    @Test func aFailingScriptReportsItsExitStatusAndLastLines() async throws {
        try Data("import sys\nprint('loading data')\nprint('bad row 17', file=sys.stderr)\nsys.exit(3)\n".utf8).write(to: URL(fileURLWithPath: code + "/broken.py"))
        let error = await #expect(throws: JobFailure.self) { try await runner.run(spec(.processing, "broken.py"), id: "broken") }
        #expect(error?.error == "Job.Failed")
        #expect(error?.cause.contains("exited with status 3") == true)
        #expect(error?.cause.contains("bad row 17") == true)
    }

    @Test func aJobRunsOnTheNumberOfCPUsItsStageAsksFor() async throws {
        try Data("import os\nprint('cpus', len(os.sched_getaffinity(0)), os.environ['SM_NUM_CPUS'], os.environ['OMP_NUM_THREADS'])\n".utf8)
            .write(to: URL(fileURLWithPath: code + "/cpus.py"))
        let available = ProcessInfo.processInfo.activeProcessorCount
        let one = try await runner.run(spec(.processing, "cpus.py"), id: "cpus-1")
        #expect(one.log.contains("cpus 1 1 1"), "\(one.log)")
        var all = spec(.processing, "cpus.py")
        all.resources.cpus = Double(available + 4)
        let many = try await runner.run(all, id: "cpus-all")
        #expect(many.log.contains("cpus \(available) "), "asking for more CPUs than there are gives all of them: \(many.log)")
    }

    @Test func aRunningJobsOutputIsInItsLogFileAsItPrints() async throws {
        try Data("import time\nprint('started', flush=True)\ntime.sleep(3)\nprint('done')\n".utf8)
            .write(to: URL(fileURLWithPath: code + "/live.py"))
        let log = runner.logPath(id: "live")
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                let result = try await runner.run(spec(.processing, "live.py"), id: "live")
                #expect(result.logPath == log && result.status == 0)
            }
            var seen = false
            for _ in 0..<250 where !seen {
                seen = (try? String(contentsOfFile: log, encoding: .utf8)).map(Self.scriptLines) == "started\n"
                try await Task.sleep(for: .milliseconds(10))
            }
            #expect(seen, "the job's first line was not in \(log) while it ran")
            try await group.waitForAll()
        }
        let text = try String(contentsOfFile: log, encoding: .utf8)
        #expect(Self.scriptLines(text) == "started\ndone\n")
        #expect(text.hasPrefix("[slipway: limits by cgroup v1: memory 1GiB, 256 processes, 1.0 CPUs]\n"), "\(text)")
        #expect(text.contains("[slipway: peak memory "), "\(text)")
    }

    /// A log without Slipway's own `[slipway: ...]` lines: what the script printed.
    static func scriptLines(_ log: String) -> String {
        log.split(separator: "\n", omittingEmptySubsequences: false).filter { !$0.hasPrefix("[slipway: ") }.joined(separator: "\n")
    }

    /// Finding 1, at the layer that builds the path: an input named like a path made the
    /// job's placeholder file land outside its work folder, emptying the file there. A job
    /// written by hand (not through `model validate`) is refused before any file is touched.
    @Test func aJobInputNamedLikeAPathIsRefusedBeforeAnyFileIsTouched() async throws {
        let victim = root + "/victim/sales.csv"
        try FileManager.default.createDirectory(atPath: root + "/victim", withIntermediateDirectories: true)
        try Data("precious\n".utf8).write(to: URL(fileURLWithPath: victim))
        var job = spec(.processing, "preprocess.py")
        // From jobs/ID/ml/processing/input, five levels up is `root`.
        job.inputs = ["../../../../../victim": code + "/data/sales.csv"]
        job.outputs = ["train"]
        let failure = await #expect(throws: JobFailure.self) { try await runner.run(job, id: "escape") }
        #expect(failure?.error == "Job.InvalidSpec")
        #expect(failure?.cause.contains("input '../../../../../victim': it contains '/'") == true, "\(failure?.cause ?? "")")
        #expect(try String(contentsOfFile: victim, encoding: .utf8) == "precious\n")
        #expect(!FileManager.default.fileExists(atPath: root + "/jobs/escape"))
    }

    @Test(arguments: [
        (JobResources(cpus: 1e300), "cpus"), (JobResources(cpus: .infinity), "cpus"), (JobResources(cpus: .nan), "cpus"),
        (JobResources(memoryBytes: Int64.max), "memory"), (JobResources(timeoutSeconds: Int.max), "timeout"),
    ])
    func limitsPastTheirBoundsAreRefusedNotTrapped(resources: JobResources, field: String) async throws {
        var job = spec(.training, "train.py")
        job.resources = resources
        let failure = await #expect(throws: JobFailure.self) { try await runner.run(job, id: "limits") }
        #expect(failure?.error == "Job.InvalidSpec")
        #expect(failure?.cause.contains(field) == true, "\(failure?.cause ?? "")")
    }

    @Test func aJobIdThatIsAPathIsRefused() async throws {
        let failure = await #expect(throws: JobFailure.self) { try await runner.run(spec(.training, "train.py"), id: "../../escape") }
        #expect(failure?.cause.contains("job id '../../escape'") == true)
    }
}
