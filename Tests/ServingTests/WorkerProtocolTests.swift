import Foundation
import Testing

/// The Python worker's own tests (protocol, default handlers, errors), run as part of the suite.
@Test func thePythonWorkersOwnTestsPass() async throws {
    let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Python").path
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["python3", "-m", "unittest", "discover", "-s", folder]
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = pipe
    try process.run()
    // Read on a thread of its own: the unittest takes seconds, and the concurrency pool's
    // threads belong to the other suites meanwhile.
    let output = await withCheckedContinuation { continuation in
        Thread {
            let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            process.waitUntilExit()
            continuation.resume(returning: output)
        }.start()
    }
    #expect(process.terminationStatus == 0, "\(output)")
    #expect(output.contains("OK"))
}
