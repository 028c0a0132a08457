import Foundation
import Jobs
import Registry
import Testing
@testable import Pipelines

/// Two jobs with the same key finishing together (two models whose preprocess stages are
/// byte-identical) both keep readable outputs: neither replaces a folder the other uses.
@Test func twoJobsStoringTheSameKeyAtOnceBothKeepTheirOutputs() async throws {
    var template = Array((NSTemporaryDirectory() + "slipway-cache-XXXXXX").utf8CString)
    let home = String(cString: mkdtemp(&template)!)
    defer { try? FileManager.default.removeItem(atPath: home) }
    let cache = StepCache(home: home, registry: try Registry(home: home))

    func finishedJob(_ id: Int) throws -> JobResult {
        let work = home + "/jobs/job-\(id)/ml"
        try FileManager.default.createDirectory(atPath: work + "/processing/train", withIntermediateDirectories: true)
        try Data("price,units\n1,2\n".utf8).write(to: URL(fileURLWithPath: work + "/processing/train/train.csv"))
        try Data("job \(id)\n".utf8).write(to: URL(fileURLWithPath: home + "/jobs/job-\(id)/output.log"))
        return JobResult(folder: work, outputs: ["train": work + "/processing/train"], modelArchive: nil, log: "")
    }
    let jobs = try (0..<6).map(finishedJob)
    let records = try await withThrowingTaskGroup(of: JSONValue.self) { group in
        for (index, job) in jobs.enumerated() {
            group.addTask { try cache.store("same-key", result: job, stage: "preprocess", execution: "execution-\(index)") }
        }
        var all: [JSONValue] = []
        for try await record in group { all.append(record) }
        return all
    }
    #expect(records.count == 6)
    for record in records {
        let folder = try #require(record["outputs"]?["train"]?.stringValue)
        #expect(FileManager.default.fileExists(atPath: folder + "/train.csv"), "\(folder)")
    }
    let leftovers = try FileManager.default.contentsOfDirectory(atPath: home + "/outputs").filter { $0 != "same-key" }
    #expect(leftovers.isEmpty, "staging folders are cleaned up: \(leftovers)")
    #expect(cache.lookup("same-key") != nil)
}
