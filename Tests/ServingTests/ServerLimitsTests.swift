import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Testing
@testable import Serving

/// The HTTP server against clients that misbehave, over raw TCP connections: idle and slow
/// connections are closed, and past the connection cap `/ping` still answers.
@Suite(.serialized) struct ServerLimitsTests {
    static func limits() -> ServerLimits {
        var limits = ServerLimits()
        limits.maxConnections = 6
        limits.reserveConnections = 2
        limits.idleTimeout = .seconds(5)
        limits.bodyTimeout = .seconds(1)
        limits.reserveTimeout = .milliseconds(500)
        return limits
    }

    @Test func idleConnectionsPastTheCapAreClosedWhilePingStillAnswers() async throws {
        try await ServingFixture.with(limits: Self.limits()) { serving in
            let idle = try (0..<6).map { _ in try RawConnection(port: serving.port) }
            #expect(await eventually { serving.connections.withLock { $0?.current } == 6 })
            // Past the cap, connections that send nothing are closed: at once past the reserve,
            // after the reserve timeout within it.
            let extra = try (0..<10).map { _ in try RawConnection(port: serving.port) }
            #expect(extra.allSatisfy { $0.readUntilClosed(within: 3).closed })
            #expect((serving.connections.withLock { $0?.refused } ?? 0) >= 8)
            // The reserve serves /ping...
            let ping = try RawConnection(port: serving.port)
            ping.send("GET /ping HTTP/1.1\r\nHost: x\r\n\r\n")
            let pong = ping.readUntilClosed(within: 5)
            #expect(pong.text.hasPrefix("HTTP/1.1 200"), "\(pong.text)")
            #expect(pong.text.contains(#"{"status":"ok"}"#))
            // ...and nothing else.
            let invoke = try RawConnection(port: serving.port)
            invoke.send("POST /endpoints/prices/invocations HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\n[1]")
            let refused = invoke.readUntilClosed(within: 5)
            #expect(refused.text.hasPrefix("HTTP/1.1 503"), "\(refused.text)")
            #expect(refused.text.contains("connections open, its limit"))
            // The idle ones are closed after the idle timeout, and the server serves again.
            let start = ContinuousClock.now
            #expect(idle.allSatisfy { $0.readUntilClosed(within: 10).closed })
            #expect(ContinuousClock.now - start < .seconds(8))
            #expect(await eventually { serving.connections.withLock { $0?.current } == 0 })
            let after = try RawConnection(port: serving.port)
            after.send("POST /endpoints/prices/invocations HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nConnection: close\r\n\r\n[1]")
            let answer = after.readUntilClosed(within: 5)
            #expect(answer.text.hasPrefix("HTTP/1.1 404"), "a regular connection again: \(answer.text)")
            (idle + extra + [ping, invoke, after]).forEach { $0.close() }
        }
    }

    @Test func headersAndBodiesDribbledPastTheirTimeoutsAreDropped() async throws {
        try await ServingFixture.with(limits: Self.limits()) { serving in
            let headers = try RawConnection(port: serving.port)
            headers.send("POST /endpoints/prices/invoc")
            let body = try RawConnection(port: serving.port)
            body.send("POST /endpoints/prices/invocations HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n[1, ")
            let start = ContinuousClock.now
            let dropped = body.readUntilClosed(within: 10)
            #expect(dropped.closed, "a body that stops arriving is dropped")
            #expect(!dropped.text.contains("200"), "\(dropped.text)")
            #expect(headers.readUntilClosed(within: 10).closed, "headers that stop arriving are dropped")
            #expect(ContinuousClock.now - start < .seconds(8))
            #expect(await eventually { serving.connections.withLock { $0?.current } == 0 })
            headers.close()
            body.close()
        }
    }
}

/// A blocking TCP connection to 127.0.0.1, for clients that misbehave.
final class RawConnection: Sendable {
    let fd: Int32

    init(port: Int) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw WorkerError("socket: errno \(errno)") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard result == 0 else { throw WorkerError("connect to port \(port): errno \(errno)") }
    }

    func send(_ text: String) {
        let bytes = Array(text.utf8)
        _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
    }

    /// What arrives until the server closes the connection (`closed`) or `seconds` pass.
    func readUntilClosed(within seconds: Double) -> (text: String, closed: Bool) {
        var received: [UInt8] = []
        let deadline = ContinuousClock.now + .seconds(seconds)
        var buffer = [UInt8](repeating: 0, count: 4096)
        while ContinuousClock.now < deadline {
            var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&poller, 1, 50) > 0 else { continue }
            let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count <= 0 { return (String(decoding: received, as: UTF8.self), true) }
            received += buffer[0..<count]
        }
        return (String(decoding: received, as: UTF8.self), false)
    }

    func close() { _ = Glibc.close(fd) }
}
