import Foundation
import Home
import Testing
@testable import ArtifactBuilder

/// Configs written to hurt: names that are paths, numbers past any sane bound, forms that
/// overflow. Each is a config error naming the field and the value, never a trap.
@Suite struct ModelConfigHostileTests {
    static func config(data: String = "raw: {path: data.csv}", preprocess: String = "inputs: [raw]", train: String = "", deploy: String = "{}") -> String {
        """
        version: 1
        name: demand
        data:
          \(data)
        stages:
          preprocess: {script: p.py, \(preprocess)}
          train: {script: t.py\(train.isEmpty ? "" : ", " + train)}
        deploy: \(deploy)
        """
    }

    func diagnostics(_ text: String) -> [ConfigDiagnostic] {
        #expect(throws: ConfigError.self) { try ModelConfig.parse(text) }?.diagnostics ?? []
    }

    /// Finding 1: this name passed validate and training emptied the file it pointed at.
    @Test func aDataInputNamedLikeAPathIsRefusedByValidate() {
        let found = diagnostics(Self.config(data: #"'../../../../tmp/victim': {path: data.csv}"#, preprocess: #"inputs: ['../../../../tmp/victim']"#))
        let input = found.first { $0.keyPath == "data.../../../../tmp/victim" }
        #expect(input?.message == "invalid data input name '../../../../tmp/victim': it contains '/'")
        #expect(input?.hint?.contains(SafeName.rule) == true)
        #expect(input?.line == 4)
        #expect(found.contains { $0.keyPath == "stages.preprocess.inputs[0]" && $0.message.contains("'../../../../tmp/victim'") })
    }

    @Test(arguments: ["../../../../../registry", "..", ".hidden", "a/b", "", "-flag", String(repeating: "n", count: 64), "e\u{301}", "a..b", "/etc"])
    func everyNameThatBecomesAPathMustBeSafe(name: String) {
        let quoted = "'\(name)'"
        let asInput = diagnostics(Self.config(data: "\(quoted): {path: data.csv}", preprocess: "inputs: [\(quoted)]"))
        #expect(asInput.contains { $0.keyPath == "data.\(name)" && $0.message.hasPrefix("invalid data input name '\(name)'") }, "\(asInput)")
        let asOutput = diagnostics(Self.config(preprocess: "inputs: [raw], outputs: [\(quoted)]"))
        #expect(asOutput.contains { $0.keyPath == "stages.preprocess.outputs[0]" && $0.message.hasPrefix("invalid output name '\(name)'") }, "\(asOutput)")
    }

    @Test func safeNamesOfEveryKindAreAccepted() throws {
        let config = try ModelConfig.parse(Self.config(data: "Sales.2024_v-1: {path: data.csv}", preprocess: "inputs: [Sales.2024_v-1], outputs: [train, test.v2]"))
        #expect(config.data.map(\.name) == ["Sales.2024_v-1"])
        #expect(config.stages[.preprocess]?.outputs == ["train", "test.v2"])
    }

    /// Finding 4: this timeout overflowed while the agent collected the push.
    @Test func aTimeoutTooLargeToRepresentIsAConfigErrorNotATrap() {
        let found = diagnostics(Self.config(train: "resources: {timeout: 9999999999999999h}"))
        let timeout = found.first { $0.keyPath == "stages.train.resources.timeout" }
        #expect(timeout?.message == "timeout '9999999999999999h' is longer than the limit of 7d")
        #expect(timeout?.hint == "give at most 7d")
        #expect(ModelConfig.parseDuration("9999999999999999h") == Int.max)
        #expect(ModelConfig.parseDuration("99999999999999999999999999") == Int.max)
        #expect(ModelConfig.parseDuration("1d1d1d1d") == 4 * 86_400)
        #expect(ModelConfig.parseDuration("7d") == ResourceBounds.maxTimeoutSeconds)
    }

    @Test(arguments: ["bake", "health_timeout", "scale_in_cooldown", "timeout"])
    func aDeployDurationPastItsBoundIsAConfigError(key: String) {
        let found = diagnostics(Self.config(deploy: "{\(key): 99999999999999999999d}"))
        let limit = key == "timeout" ? "7d" : "1d"
        #expect(found.contains { $0.keyPath == "deploy.\(key)" && $0.message.hasSuffix("is longer than the limit of \(limit)") }, "\(found)")
    }

    @Test(arguments: [("1e300", "cpus must be more than 0 and at most 1024, not '1e300'"), (".inf", "expected a finite number, found '.inf'"),
                      (".nan", "expected a finite number, found '.nan'"), ("-0", "cpus must be more than 0 and at most 1024, not '-0'"),
                      ("0", "not '0'"), ("1025", "not '1025'"), ("[1]", "expected a finite number, found a list")])
    func cpusOutsideTheirBoundsAreAConfigError(value: String, message: String) {
        let found = diagnostics(Self.config(train: "resources: {cpus: \(value)}"))
        #expect(found.contains { $0.keyPath == "stages.train.resources.cpus" && $0.message.contains(message) }, "\(found)")
    }

    @Test(arguments: [("2TiB", "is outside the bounds 1MiB to 1TiB"), ("99999999999999999999GiB", "is outside the bounds"), ("1e300GiB", "invalid memory size"), ("100", "is outside the bounds"),
                      ("-1GiB", "invalid memory size"), (".infGiB", "invalid memory size")])
    func memoryOutsideItsBoundsIsAConfigError(value: String, message: String) {
        let found = diagnostics(Self.config(train: "resources: {memory: '\(value)'}"))
        #expect(found.contains { $0.keyPath == "stages.train.resources.memory" && $0.message.contains(message) }, "\(found)")
    }

    /// Yams reads `1:2:3…` as a base-60 integer and overflows past eleven places; ours refuses it.
    @Test func aBase60CountIsAConfigErrorNotATrap() {
        let found = diagnostics(Self.config(deploy: "\n  workers: 1:2:3:4:5:6:7:8:9:10:11:12:13\n  max_workers: 99999999999999999999999"))
        #expect(found.contains { $0.keyPath == "deploy.workers" && $0.message.contains("from 1 to 64") })
        #expect(found.contains { $0.keyPath == "deploy.max_workers" && $0.message.contains("from 1 to 64") })
    }

    @Test func nonFiniteGatesBackoffsAndTargetsAreConfigErrors() {
        let text = Self.config(train: "retry: {backoff: .inf, interval: 2d}}\n  evaluate: {script: e.py", deploy: "{target_in_flight: 1e300, step: .nan}")
            + "\ngates: [{metric: m, max: .nan}]\n"
        let found = diagnostics(text).map(\.keyPath)
        for key in ["stages.train.retry.backoff", "stages.train.retry.interval", "deploy.target_in_flight", "deploy.step", "gates[0].max"] {
            #expect(found.contains(key), "\(key) in \(found)")
        }
    }

    @Test func deeplyNestedYAMLIsAnswered() {
        let depth = 5_000
        let text = "version: 1\nname: a\nstages: {train: {script: t.py}}\ndescription: " + String(repeating: "[", count: depth) + String(repeating: "]", count: depth)
        let found = diagnostics(text)
        #expect(found.contains { $0.keyPath == "description" || $0.message.contains("invalid YAML") }, "\(found)")
    }
}
