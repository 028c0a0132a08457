import ArgumentParser
import Foundation
import Home
import Registry

/// `slipway-bench registry`: point get/put latency, durable put throughput with 1 and 4
/// writer processes, and a 1,000-item query, on a fresh registry in a temp folder.
struct RegistryBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "registry", abstract: "Registry latency and throughput.")

    @Option(help: "Items written and read for the point figures.") var items = 10_000
    @Option(help: "Durable puts per writer process in the throughput figures.") var putsPerWriter = 2_000
    @Option(help: "Folder for the benchmark registry (default: a new temp folder, removed after).") var directory: String?

    func run() async throws {
        let folder = directory ?? (NSTemporaryDirectory() + "slipway-bench-\(getpid())")
        defer { if directory == nil { try? FileManager.default.removeItem(atPath: folder) } }
        let registry = try Registry(root: folder + "/registry")
        print("registry benchmark: \(items) items in \(folder)")

        let fsyncs = try rawDurableWrites(in: folder, count: 1_000)
        print(Stats(fsyncs).line("raw write+fsync+rename+fsync dir (the disk's floor)"))

        var puts: [Duration] = []
        puts.reserveCapacity(items)
        for i in 0..<items {
            let start = ContinuousClock.now
            try registry.put("points", ItemKey("item-\(i)"), ["i": .int(Int64(i)), "status": "succeeded", "commit": .string(String(repeating: "a", count: 40))])
            puts.append(ContinuousClock.now - start)
        }
        print(Stats(puts).line("put (durable, 1 writer)"))

        var gets: [Duration] = []
        gets.reserveCapacity(items)
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<items {
            let key = ItemKey("item-\(Int.random(in: 0..<items, using: &generator))")
            let start = ContinuousClock.now
            guard try registry.get("points", key) != nil else { throw ValidationError("missing \(key)") }
            gets.append(ContinuousClock.now - start)
        }
        print(Stats(gets).line("get (in-process)"))

        for writers in [1, 4] {
            let root = folder + "/throughput-\(writers)"
            _ = try Registry(root: root)
            let start = ContinuousClock.now
            let bench = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().path
            try await withThrowingTaskGroup(of: ProcessResult.self) { group in
                for index in 0..<writers {
                    let arguments = ["registry-writer", "--root", root, "--writer", String(index), "--count", String(putsPerWriter)]
                    group.addTask { try await Processes.run(ProcessSpec(bench, arguments, environment: ProcessSpec.inheritedEnvironment)) }
                }
                for try await result in group where !result.succeeded {
                    throw ValidationError("a writer process failed with status \(result.status): \(result.output)")
                }
            }
            let elapsed = ContinuousClock.now - start
            let total = writers * putsPerWriter
            let perSecond = Double(total) / elapsed.seconds
            print(String(format: "%-52@ %8.0f puts/s (%d puts in %.2f s)", "durable put throughput, \(writers) writer process(es)" as NSString, perSecond, total, elapsed.seconds))
        }

        for i in 0..<1_000 {
            try registry.put("builds", ItemKey("demand", String(format: "build-%05d", i)), ["i": .int(Int64(i))])
        }
        var queries: [Duration] = []
        for _ in 0..<20 {
            let start = ContinuousClock.now
            let result = try registry.query("builds", partition: "demand")
            queries.append(ContinuousClock.now - start)
            guard result.items.count == 1_000 else { throw ValidationError("query returned \(result.items.count) items") }
        }
        print(Stats(queries).line("query of a 1,000-item partition"))
        var newest: [Duration] = []
        for _ in 0..<200 {
            let start = ContinuousClock.now
            _ = try registry.query("builds", partition: "demand", descending: true, limit: 10)
            newest.append(ContinuousClock.now - start)
        }
        print(Stats(newest).line("query newest 10 of 1,000 (--reverse --limit 10)"))
    }

    /// The cost of the durability steps alone, with no registry logic.
    private func rawDurableWrites(in folder: String, count: Int) throws -> [Duration] {
        let dir = folder + "/raw"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let bytes = Array(repeating: UInt8(ascii: "x"), count: 200)
        var samples: [Duration] = []
        for i in 0..<count {
            let start = ContinuousClock.now
            let temp = dir + "/.tmp", target = dir + "/f\(i)"
            let fd = open(temp, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
            _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            fsync(fd)
            close(fd)
            rename(temp, target)
            let dfd = open(dir, O_RDONLY | O_DIRECTORY)
            fsync(dfd)
            close(dfd)
            samples.append(ContinuousClock.now - start)
        }
        return samples
    }
}

/// `slipway-bench registry-writer`: one writer process of the throughput figure.
struct RegistryWriter: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "registry-writer", shouldDisplay: false)
    @Option var root: String
    @Option var writer: Int
    @Option var count: Int

    func run() throws {
        let registry = try Registry(root: root)
        for i in 0..<count {
            try registry.put("throughput", ItemKey("w\(writer)-\(i)"), ["i": .int(Int64(i))])
        }
    }
}

/// Median and 99th percentile of latency samples.
struct Stats {
    var median: Duration
    var p99: Duration

    init(_ samples: [Duration]) {
        let sorted = samples.sorted()
        median = sorted[sorted.count / 2]
        p99 = sorted[min(sorted.count - 1, sorted.count * 99 / 100)]
    }

    func line(_ label: String) -> String {
        String(format: "%-52@ median %9.1f µs   p99 %9.1f µs", label as NSString, median.micros, p99.micros)
    }
}

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
    var micros: Double { seconds * 1e6 }
}
