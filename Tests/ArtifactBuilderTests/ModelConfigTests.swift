import Foundation
import Testing
@testable import ArtifactBuilder

@Suite struct ModelConfigTests {
    static let valid = """
        version: 1
        name: demand
        description: Units sold per product, context and price.
        requirements: requirements.txt
        branches: [main, release]
        data:
          raw: {path: data/sales.csv}
          history: {host: /srv/data/history}
        stages:
          preprocess:
            script: preprocess.py
            include: [lib/]
            inputs: [raw]
            outputs: [train, test]
            arguments: ["--test-fraction", "0.2"]
            resources: {cpus: 1, memory: 512MiB, timeout: 5m}
          train:
            script: ./train.py
            hyperparameters: {epochs: 50, learning-rate: 0.05}
            resources: {memory: 1GiB, timeout: 1h30m}
            retry: {attempts: 2, interval: 5s, backoff: 1.5}
          evaluate: {script: evaluate.py}
          serve: {script: serve.py}
        gates:
          - {metric: regression_metrics.mse.value, max: 2.5}
        approval: auto
        deploy: {endpoint: demand-api, workers: 2, strategy: canary}
        notify:
          - file: /tmp/notify.log
          - webhook: http://127.0.0.1:9/hook
        build:
          steps:
            - {name: unit tests, stage: train, run: python -m unittest}
        """

    @Test func aCompleteConfigDecodes() throws {
        let config = try ModelConfig.parse(Self.valid)
        #expect(config.name == "demand")
        #expect(config.branches == ["main", "release"])
        #expect(config.data == [DataInput(name: "history", source: .host("/srv/data/history")), DataInput(name: "raw", source: .repository("data/sales.csv"))])
        #expect(config.stages.keys.sorted() == StageKind.allCases)
        let train = try #require(config.stages[.train])
        #expect(train.script == "train.py")
        #expect(train.hyperparameters.map(\.0) == ["epochs", "learning-rate"])
        #expect(train.hyperparameters.map(\.1) == ["50", "0.05"])
        #expect(train.resources == Resources(cpus: 1, memoryBytes: 1 << 30, timeoutSeconds: 5400))
        #expect(train.retry == RetryPolicy(attempts: 2, intervalSeconds: 5, backoffRate: 1.5))
        #expect(config.stages[.preprocess]?.include == ["lib"])
        #expect(config.stages[.preprocess]?.resources.memoryBytes == 512 << 20)
        #expect(config.gates == [Gate(metric: "regression_metrics.mse.value", min: nil, max: 2.5)])
        #expect(config.approval == .auto)
        #expect(config.deploy.workers == 2)
        #expect(config.notify == [.file("/tmp/notify.log"), .webhook("http://127.0.0.1:9/hook")])
        #expect(config.buildSteps == [BuildStep(name: "unit tests", stage: .train, run: "python -m unittest")])
    }

    @Test func everyProblemIsReportedAtOnceWithKeyPathLineAndHint() {
        let text = """
            version: 1
            name: Demand!
            stages:
              train:
                script: ../outside.py
                hyperparams: {epochs: 5}
                resources: {memory: lots, timeout: soon}
              evaluate:
                scirpt: evaluate.py
            gates:
              - metric: mse
            approval: maybe
            """
        let error = #expect(throws: ConfigError.self) { try ModelConfig.parse(text) }
        let diagnostics = error?.diagnostics ?? []
        func find(_ path: String) -> ConfigDiagnostic? { diagnostics.first { $0.keyPath == path } }
        #expect(find("name")?.line == 2)
        #expect(find("stages.train.script")?.message.contains("leaves the repository") == true)
        let typo = find("stages.train.hyperparams")
        #expect(typo?.line == 6)
        #expect(typo?.description == "line 6 (stages.train.hyperparams): unknown key 'hyperparams' in stages.train; did you mean 'hyperparameters'?")
        #expect(find("stages.train.resources.memory")?.hint?.contains("2GiB") == true)
        #expect(find("stages.train.resources.timeout")?.line == 7)
        #expect(find("stages.evaluate.scirpt")?.hint == "did you mean 'script'?")
        #expect(find("stages.evaluate.script")?.message == "missing required key 'script'")
        #expect(find("gates[0]")?.message.contains("no threshold") == true)
        #expect(find("approval")?.hint == "use manual or auto")
        #expect(diagnostics.count == 9)
    }

    @Test(arguments: [
        ("version: 2\nname: a\nstages: {train: {script: t.py}}", "version", "not supported"),
        ("name: a\nstages: {train: {script: t.py}}", "version", "missing required key 'version'"),
        ("version: 1\nname: a\nstages: {}", "stages.train", "missing required key 'train'"),
        ("version: 1\nname: a\nstages: {train: {script: /abs/t.py}}", "stages.train.script", "absolute path"),
        ("version: 1\nname: a\ndata: {raw: {host: rel/path}}\nstages: {train: {script: t.py}}", "data.raw.host", "not an absolute path"),
        ("version: 1\nname: a\nstages: {preprocess: {script: p.py, inputs: [raw]}, train: {script: t.py}}", "stages.preprocess.inputs[0]", "unknown data input 'raw'"),
        ("version: 1\nname: a\nstages: {train: {script: t.py}}\ngates: [{metric: m, max: 1}]", "gates", "need an evaluate stage"),
        ("version: 1\nname: a\nstages: {train: {script: t.py}}\nbuild: {steps: [{run: x, stage: serve}]}", "build.steps[0].stage", "no stage 'serve'"),
        ("version: 1\nname: a\nstages: {train: {script: t.py}}\nnotify: [{webhook: ftp://x}]", "notify[0].webhook", "not an http(s) URL"),
    ])
    func eachRuleNamesItsKey(text: String, keyPath: String, message: String) {
        let error = #expect(throws: ConfigError.self) { try ModelConfig.parse(text) }
        #expect(error?.diagnostics.contains { $0.keyPath == keyPath && $0.message.contains(message) } == true, "\(String(describing: error))")
    }

    @Test func invalidYAMLGivesTheLine() {
        let error = #expect(throws: ConfigError.self) { try ModelConfig.parse("version: 1\nname: [unclosed\nstages: {}\n") }
        #expect(error?.diagnostics.first?.line != nil)
        #expect(error?.diagnostics.first?.message.contains("invalid YAML") == true)
        #expect(throws: ConfigError.self) { try ModelConfig.parse("") }
    }

    @Test(arguments: [("512MiB", Int64(512 << 20)), ("2GiB", Int64(2 << 30)), ("1G", Int64(1_000_000_000)), ("100", Int64(100)), ("0.5GiB", Int64(1 << 29))])
    func sizesParse(text: String, bytes: Int64) { #expect(ModelConfig.parseSize(text) == bytes) }

    @Test(arguments: [("90s", 90), ("30m", 1800), ("2h", 7200), ("1h30m", 5400), ("45", 45)])
    func durationsParse(text: String, seconds: Int) { #expect(ModelConfig.parseDuration(text) == seconds) }

    @Test func badSizesAndDurationsAreRejected() {
        #expect(ModelConfig.parseSize("lots") == nil)
        #expect(ModelConfig.parseSize("-1GiB") == nil)
        #expect(ModelConfig.parseDuration("5x") == nil)
        #expect(ModelConfig.parseDuration("1h30") == nil)
    }
}

@Suite struct ModelConfigCheckTests {
    @Test func pathsMustExistAndSymlinksMustStayInside() throws {
        var template = Array((NSTemporaryDirectory() + "slipway-check-XXXXXX").utf8CString)
        let root = String(cString: mkdtemp(&template)!)
        defer { try? FileManager.default.removeItem(atPath: root) }
        try ModelTemplate.write(to: root, name: "demand")
        let manager = FileManager.default
        try manager.createSymbolicLink(atPath: root + "/escape.py", withDestinationPath: "../../etc/passwd")
        try manager.createSymbolicLink(atPath: root + "/shared", withDestinationPath: "/usr/lib")
        try manager.createSymbolicLink(atPath: root + "/alias.py", withDestinationPath: "train.py")
        let config = try ModelConfig.parse("""
            version: 1
            name: demand
            stages:
              train: {script: alias.py, include: [escape.py, shared, model_lib.py]}
              evaluate: {script: evaluat.py}
            """)
        let problems = config.check(against: try FolderSnapshot(root: root))
        #expect(problems.contains { $0.keyPath == "stages.train.include[0]" && $0.message.contains("symlink 'escape.py' points outside the repository") })
        #expect(problems.contains { $0.keyPath == "stages.train.include[1]" && $0.message.contains("symlink 'shared' points outside") })
        let missing = problems.first { $0.keyPath == "stages.evaluate.script" }
        #expect(missing?.message.contains("'evaluat.py' is not in") == true)
        #expect(missing?.line == 5)
        #expect(problems.count == 3, "\(problems)")  // alias.py -> train.py stays inside
    }
}

@Suite struct SymlinkResolutionTests {
    @Test func chainsThroughSymlinkedFoldersAreResolvedComponentByComponent() throws {
        var template = Array((NSTemporaryDirectory() + "slipway-links-XXXXXX").utf8CString)
        let root = String(cString: mkdtemp(&template)!)
        defer { try? FileManager.default.removeItem(atPath: root) }
        let manager = FileManager.default
        try manager.createDirectory(atPath: root + "/lib", withIntermediateDirectories: true)
        try manager.createDirectory(atPath: root + "/src", withIntermediateDirectories: true)
        try Data("x = 1\n".utf8).write(to: URL(fileURLWithPath: root + "/src/util.py"))
        try Data("print(1)\n".utf8).write(to: URL(fileURLWithPath: root + "/train.py"))
        try manager.createSymbolicLink(atPath: root + "/lib/d", withDestinationPath: ".")
        // Read as text this stays inside (lib/etc/passwd); followed as the kernel does, it leaves.
        try manager.createSymbolicLink(atPath: root + "/lib/link", withDestinationPath: "d/d/d/../../../../etc/passwd")
        try manager.createSymbolicLink(atPath: root + "/code", withDestinationPath: "src")
        let snapshot = try FolderSnapshot(root: root)
        #expect(try snapshot.resolve("lib/link") == nil)
        #expect(try snapshot.resolve("code") == "src")
        #expect(try snapshot.resolve("lib/d/d") == "lib")

        let config = try ModelConfig.parse("version: 1\nname: m\nstages:\n  train: {script: train.py, include: [lib/link, code]}\n")
        let problems = config.check(against: snapshot)
        #expect(problems.map(\.keyPath) == ["stages.train.include[0]"])
        // A symlinked folder brings its target's files into the artifact (and its digest).
        let files = ArtifactStore.files(for: config.stages[.train]!, config: config, in: snapshot).map(\.path)
        #expect(files.contains("code") && files.contains("src/util.py"))
    }
}
