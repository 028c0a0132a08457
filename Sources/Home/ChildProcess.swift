import Foundation
import Subprocess
import SystemPackage

/// A long-lived child that the caller talks to over pipes, valid inside
/// `Processes.withChild`'s body: bytes go to its standard input, its standard output is
/// an asynchronous stream of byte chunks. Its standard error goes to a log file.
package struct ChildProcess: Sendable {
    /// The child's process id, which is also its process group's id.
    package let pid: Int32
    /// The child's standard output, chunk by chunk as it arrives; iterate it once
    /// (`ChildOutput.Reader` reads exact byte counts, for framed protocols).
    package let output: ChildOutput
    private let writer: StandardInputWriter

    init(pid: Int32, output: ChildOutput, writer: StandardInputWriter) {
        self.pid = pid
        self.output = output
        self.writer = writer
    }

    /// Writes all of `bytes` to the child's standard input.
    package func write(_ bytes: [UInt8]) async throws(ProcessError) {
        do {
            let written = try await writer.write(bytes)
            guard written == bytes.count else {
                throw ProcessError(operation: "write to the standard input of", subject: "pid \(pid)",
                                   reason: "only \(written) of \(bytes.count) bytes were written", hint: "the child may have exited; see its error log")
            }
        } catch let error as ProcessError {
            throw error
        } catch {
            throw ProcessError(operation: "write to the standard input of", subject: "pid \(pid)", reason: "\(error)",
                               hint: "the child may have exited; see its error log")
        }
    }

    /// Closes the child's standard input, so that it reads end of file.
    package func closeInput() async throws(ProcessError) {
        do {
            try await writer.finish()
        } catch {
            throw ProcessError(operation: "close the standard input of", subject: "pid \(pid)", reason: "\(error)", hint: "none needed")
        }
    }

    /// Sends `signal` to the child, or to its whole process group. The child is not reaped
    /// before `withChild` returns, so its pid cannot name another process meanwhile.
    package func send(signal: Int32, toGroup: Bool = false) throws(ProcessError) {
        guard kill(toGroup ? -pid : pid, signal) == 0 else {
            throw ProcessError.system("send signal \(signal) to", "pid \(pid)", errno: errno, hint: "the child has probably exited")
        }
    }
}

/// A child's standard output as chunks of bytes, in the order they arrived.
package struct ChildOutput: AsyncSequence, Sendable {
    /// One chunk.
    package typealias Element = [UInt8]
    private let sequence: SubprocessOutputSequence

    init(_ sequence: SubprocessOutputSequence) { self.sequence = sequence }

    /// The iterator; `nil` at end of file.
    package struct AsyncIterator: AsyncIteratorProtocol {
        var base: SubprocessOutputSequence.Iterator

        /// The next chunk, or nil when the child closed its standard output.
        package mutating func next() async throws -> [UInt8]? {
            guard let buffer = try await base.next() else { return nil }
            return buffer.withUnsafeBytes { Array($0) }
        }
    }

    /// Starts the single pass over the output.
    package func makeAsyncIterator() -> AsyncIterator { AsyncIterator(base: sequence.makeAsyncIterator()) }

    /// Reads exact numbers of bytes from a child's output, for framed protocols.
    package struct Reader {
        private var iterator: AsyncIterator
        private var buffered: [UInt8] = []
        private var start = 0

        /// A reader over `output` (which it iterates; read the output through it only).
        package init(_ output: ChildOutput) { iterator = output.makeAsyncIterator() }

        /// The next `count` bytes; nil when the output ends before the first of them.
        /// Throws when it ends in the middle.
        package mutating func read(exactly count: Int) async throws -> [UInt8]? {
            while buffered.count - start < count {
                guard let chunk = try await iterator.next() else {
                    if buffered.count == start { return nil }
                    throw ProcessError(operation: "read", subject: "\(count) bytes of a child's output",
                                       reason: "the output ended after \(buffered.count - start) of them", hint: "see the child's error log")
                }
                if start > 0 {
                    buffered.removeFirst(start)
                    start = 0
                }
                buffered += chunk
            }
            let bytes = Array(buffered[start..<start + count])
            start += count
            return bytes
        }
    }
}

extension Processes {
    /// Starts `spec` as a long-lived child with piped standard input and output, its
    /// standard error appended to `errorLog` (else /dev/null), and runs `body` with it.
    /// When `body` returns or throws, or the calling task is cancelled, the child's group
    /// is ended (SIGTERM, `grace`, SIGKILL to the group); `withChild` returns once the
    /// child was reaped.
    package static func withChild<R: Sendable>(
        _ spec: ProcessSpec, errorLog: String?, grace: Duration = .seconds(5), body: (ChildProcess) async throws -> R
    ) async throws -> R {
        try ProcessGroup.check(spec)
        let standardError = try ProcessGroup.openAppending(errorLog)
        let outcome: ExecutionResult<Result<R, any Error>, SequenceOutput, FileDescriptorOutput>
        do {
            outcome = try await Subprocess.run(
                ProcessGroup.configuration(spec, grace: grace), input: .inputWriter, output: .sequence,
                error: .fileDescriptor(standardError, closeAfterSpawningProcess: true)
            ) { execution in
                let child = ChildProcess(
                    pid: execution.processIdentifier.value, output: ChildOutput(execution.standardOutput),
                    writer: execution.standardInputWriter)
                let result: Result<R, any Error>
                do {
                    result = .success(try await body(child))
                } catch {
                    result = .failure(error)
                }
                await execution.teardown(using: ProcessGroup.teardown(grace: grace))
                await ProcessGroup.waitForLeader(execution, grace: grace)
                ProcessGroup.killRemaining(execution.processIdentifier.value)
                return result
            }
        } catch {
            throw ProcessGroup.startFailure(spec, error)
        }
        return try outcome.closureResult.get()
    }
}
