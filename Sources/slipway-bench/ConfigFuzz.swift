import ArgumentParser
import ArtifactBuilder
import Foundation
import Home

/// `slipway-bench fuzz-config`: many mutated `slipway.yaml` texts (from the fixtures'
/// configs and the model template) through the parser and the checker in this process.
/// Numbers become extremes (`1e300`, `.inf`, `-0`, huge integers, base-60 forms, NaN),
/// values change type, names become paths, nesting goes deep, odd unicode is spliced in.
/// A trap ends the process, so finishing is the proof; every accepted config is also held
/// to the bounds it promises (finite cpus in range, bounded durations, safe names), and a
/// breach exits non-zero.
struct ConfigFuzz: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "fuzz-config", abstract: "Fuzz the slipway.yaml parser and checker.")
    @Option(help: "Mutated configs to try.") var iterations = 20_000
    @Option(help: "The random generator's seed (the same seed tries the same texts).") var seed: UInt64 = 1
    @Option(help: "The fixtures folder whose slipway.yaml files seed the mutations.") var fixtures = "fixtures"

    func run() throws {
        let root = NSTemporaryDirectory() + "slipway-fuzz-\(getpid())"
        defer { try? FileManager.default.removeItem(atPath: root) }
        try ModelTemplate.write(to: root, name: "demand")
        let snapshot = try FolderSnapshot(root: root)
        var seeds = [try String(contentsOfFile: root + "/" + ModelConfig.fileName, encoding: .utf8)]
        if let walker = FileManager.default.enumerator(atPath: fixtures) {
            for case let path as String in walker where path.hasSuffix(ModelConfig.fileName) {
                seeds.append(try String(contentsOfFile: fixtures + "/" + path, encoding: .utf8))
            }
        }
        var mutator = ConfigMutator(seeds: seeds, seed: seed)
        var accepted = 0, rejected = 0, checkerProblems = 0, diagnostics = 0, breaches: [String] = []
        let start = ContinuousClock.now
        for iteration in 0..<iterations {
            let text = mutator.nextText()
            do throws(ConfigError) {
                let config = try ModelConfig.parse(text)
                accepted += 1
                checkerProblems += config.check(against: snapshot).count
                if let breach = Self.breach(config) { breaches.append("iteration \(iteration): \(breach)") }
            } catch {
                rejected += 1
                diagnostics += error.diagnostics.count
            }
        }
        let elapsed = ContinuousClock.now - start
        print("""
            fuzz-config: \(iterations) iterations from \(seeds.count) seed configs (seed \(seed)), no crash, \(elapsed.formatted(.units(allowed: [.seconds], fractionalPart: .show(length: 1))))
              accepted: \(accepted) (checker problems against the template: \(checkerProblems))
              rejected: \(rejected) with \(diagnostics) diagnostics
              bound breaches in accepted configs: \(breaches.count)
            """)
        for breach in breaches.prefix(10) { print("  " + breach) }
        if !breaches.isEmpty { throw ExitCode(1) }
    }

    /// What an accepted config breaks of the parser's promises, or nil.
    static func breach(_ config: ModelConfig) -> String? {
        for input in config.data where !SafeName.isSafe(input.name) { return "data input '\(input.name)' is not a safe name" }
        for stage in config.stages.values {
            let resources = stage.resources
            if !(resources.cpus.isFinite && resources.cpus > 0 && resources.cpus <= ResourceBounds.maxCPUs) { return "cpus \(resources.cpus)" }
            if !ResourceBounds.memoryBytes.contains(resources.memoryBytes) { return "memory \(resources.memoryBytes)" }
            if !(1...ResourceBounds.maxTimeoutSeconds).contains(resources.timeoutSeconds) { return "timeout \(resources.timeoutSeconds)" }
            if !(stage.retry.backoffRate.isFinite && stage.retry.intervalSeconds <= 86_400) { return "retry \(stage.retry)" }
            for name in stage.outputs + stage.inputs where !SafeName.isSafe(name) { return "\(stage.kind) name '\(name)' is not safe" }
        }
        let deploy = config.deploy
        if ![deploy.bakeSeconds, deploy.healthTimeoutSeconds, deploy.scaleInCooldownSeconds].allSatisfy({ $0 <= 86_400 })
            || deploy.timeoutSeconds > ResourceBounds.maxTimeoutSeconds {
            return "deploy durations \(deploy)"
        }
        if !(deploy.targetInFlight.isFinite && deploy.step.isFinite && deploy.errorThreshold.isFinite) { return "deploy numbers \(deploy)" }
        for gate in config.gates where !(gate.min ?? 0).isFinite || !(gate.max ?? 0).isFinite { return "gate \(gate)" }
        return nil
    }
}

/// Makes hostile variants of seed configs, deterministically from a seed (SplitMix64).
struct ConfigMutator {
    let seeds: [String]
    var state: UInt64

    init(seeds: [String], seed: UInt64) {
        self.seeds = seeds
        state = seed
    }

    static let extremes = [
        "1e300", "-1e300", ".inf", "-.inf", ".nan", "NaN", "-0", "0", "-1", "0.0000001", "9223372036854775807", "-9223372036854775808",
        "99999999999999999999999999", "1:2:3:4:5:6:7:8:9:10:11:12:13", "0x7fffffffffffffff", "0o777", "1_000_000_000_000_000_000",
        "9999999999999999h", "99999999999999999999d", "1e300GiB", "1e19", "18446744073709551616B", "1d1d1d1d1d1d1d1d", "0s", "1TiB", "1.1TiB",
        "~", "null", "[]", "{}", "true", "'7'", "\"\\0\"", "[1, [2, [3]]]", "{a: {b: {c: d}}}", "*nothing", "!!binary aGk=", "!!float 1e309",
        "2001-12-14t21:59:43.10-05:00", "\"\\uD800\"", "|\n  block",
    ]
    static let names = [
        "../../../../tmp/victim", "../../../../../registry", "/etc/passwd", "..", ".", ".hidden", "a/b", "a\\\\b", "", "\"a\\u0000b\"",
        "\u{202E}txt.exe", "ｆｕｌｌ", "e\u{301}", "😀", String(repeating: "n", count: 64), "CON", "-flag", "a..b", "~root", "$(reboot)",
    ]
    static let oddText = ["\u{0}", "\u{FEFF}", "\u{200B}", "\u{202E}", "\u{1F600}", "\t", "\r", "\u{85}", "\u{2028}", "e\u{301}\u{301}\u{301}", "%", "&a", "*a", "!", "? ", "- ", ": ", "---\n", "...\n"]
    static let numericKeys = ["cpus", "memory", "timeout", "workers", "min_workers", "max_workers", "target_in_flight", "scale_in_cooldown",
                              "step", "bake", "error_threshold", "health_timeout", "attempts", "interval", "backoff", "min", "max", "version"]

    mutating func random(_ bound: Int) -> Int {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return Int((z ^ (z >> 31)) % UInt64(max(bound, 1)))
    }

    mutating func pick<T>(_ values: [T]) -> T { values[random(values.count)] }

    /// The next text: a seed with one to four mutations.
    mutating func nextText() -> String {
        var lines = pick(seeds).split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        for _ in 0...random(4) { mutate(&lines) }
        return lines.joined(separator: "\n")
    }

    mutating func mutate(_ lines: inout [String]) {
        guard !lines.isEmpty else { lines = [pick(seeds)]; return }
        let index = random(lines.count)
        switch random(10) {
        case 0, 1:  // a number anywhere becomes an extreme
            lines[index] = replaceNumber(in: lines[index])
        case 2:  // a limit appears with an extreme value
            lines.append("    \(pick(Self.numericKeys)): \(pick(Self.extremes))")
            lines.insert("  train: {script: train.py, resources: {cpus: \(pick(Self.extremes)), memory: \(pick(Self.extremes)), timeout: \(pick(Self.extremes))}}", at: index)
        case 3:  // a name becomes a path
            let name = pick(Self.names)
            lines += ["data:", "  \(quoted(name)): {path: data.csv}", "stages:",
                      "  preprocess: {script: preprocess.py, inputs: [\(quoted(name))], outputs: [\(quoted(pick(Self.names)))]}",
                      "deploy: {endpoint: \(quoted(pick(Self.names))), bake: \(pick(Self.extremes)), timeout: \(pick(Self.extremes))}"]
        case 4:  // deep nesting
            let depth = 1 + random(3000)
            let open = random(2) == 0 ? "[" : "{a: "
            let close = open == "[" ? "]" : "}"
            lines[index] += " " + String(repeating: open, count: depth) + String(repeating: close, count: random(2) == 0 ? depth : random(depth + 1))
        case 5:  // odd unicode spliced in
            var line = Array(lines[index].unicodeScalars)
            line.insert(contentsOf: pick(Self.oddText).unicodeScalars, at: random(line.count + 1))
            lines[index] = String(String.UnicodeScalarView(line))
        case 6:  // a value changes type
            if let colon = lines[index].firstIndex(of: ":") {
                lines[index] = String(lines[index][...colon]) + " " + pick(Self.extremes)
            }
        case 7:  // lines are dropped, duplicated or swapped
            let other = random(lines.count)
            switch random(3) {
            case 0: lines.remove(at: index)
            case 1: lines.insert(lines[index], at: other)
            default: lines.swapAt(index, other)
            }
        case 8:  // a line from another seed
            let donor = pick(seeds).split(separator: "\n").map(String.init)
            if !donor.isEmpty { lines.insert(pick(donor), at: index) }
        default:  // indentation changes
            lines[index] = random(2) == 0 ? String(repeating: " ", count: random(9)) + lines[index] : String(lines[index].drop { $0 == " " })
        }
    }

    mutating func replaceNumber(in line: String) -> String {
        let scalars = Array(line.unicodeScalars)
        guard let start = scalars.indices.filter({ ("0"..."9").contains(scalars[$0]) }).randomElement(using: &self) else {
            return line + " " + pick(Self.extremes)
        }
        var end = start
        while end < scalars.count, ("0"..."9").contains(scalars[end]) || scalars[end] == "." { end += 1 }
        let replaced = Array(scalars[..<start]) + Array(pick(Self.extremes).unicodeScalars) + Array(scalars[end...])
        return String(String.UnicodeScalarView(replaced))
    }

    func quoted(_ name: String) -> String { name.hasPrefix("\"") ? name : "'\(name.replacingOccurrences(of: "'", with: "''"))'" }
}

extension ConfigMutator: RandomNumberGenerator {
    /// 64 random bits, for the standard library's `randomElement(using:)`.
    mutating func next() -> UInt64 { UInt64(truncatingIfNeeded: random(Int.max)) &* 2 &+ UInt64(random(2)) }
}
