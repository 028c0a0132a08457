import Foundation
import Hummingbird
import JSON
import Logging
import LogCapture
import Registry
import ServiceLifecycle
import StatesLanguage
import Synchronization
import Testing
@testable import Pipelines

/// AsyncHTTPClient's transport against a real HTTP server (Hummingbird, in this process, on
/// port 0): the HTTP task, webhooks with their retries, refused connections, timeouts.
@Suite struct HTTPTransportTests {
    /// Runs a server with `router` on 127.0.0.1 (any free port) while `body` runs with its
    /// port, then shuts it down gracefully.
    static func withServer(_ router: Router<BasicRequestContext>, _ body: (Int) async throws -> Void) async throws {
        var logger = Logger(label: "test.http-server")
        logger.logLevel = .critical
        let (ports, listening) = AsyncStream.makeStream(of: Int.self)
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
                              onServerRunning: { channel in listening.yield(channel.localAddress?.port ?? 0); listening.finish() }, logger: logger)
        let group = ServiceGroup(configuration: .init(services: [app], logger: logger))
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            var failure: (any Error)?
            do {
                var iterator = ports.makeAsyncIterator()
                let port = try #require(await iterator.next())
                try await body(port)
            } catch {
                failure = error
            }
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
            if let failure { throw failure }
        }
    }

    static func json(_ status: HTTPResponse.Status, _ text: String) -> Response {
        Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    /// A port on which nothing listens (the port of a server that has stopped).
    static func closedPort() async throws -> Int {
        let seen = Mutex(0)
        try await withServer(Router()) { port in seen.withLock { $0 = port } }
        return seen.withLock { $0 }
    }

    @Test func theHTTPTaskCallsARealServerAndFailsOnErrorStatuses() async throws {
        let router = Router()
        router.get("/quote.json") { request, _ in
            Self.json(.ok, #"{"price": 12.5, "sku": "\#(request.uri.queryParameters["sku"].map(String.init) ?? "")"}"#)
        }
        try await Self.withServer(router) { port in
            let machine = try StateMachine(json: """
                {"StartAt": "Get", "States": {"Get": {"Type": "Task", "Resource": "arn:aws:states:::http:invoke",
                  "Parameters": {"ApiEndpoint.$": "$.url", "Method": "GET", "QueryParameters": {"sku": "a1"}},
                  "ResultSelector": {"status.$": "$.StatusCode", "text.$": "$.StatusText", "price.$": "$.ResponseBody.price",
                                     "sku.$": "$.ResponseBody.sku", "type.$": "$.Headers.Content-Type"}, "End": true}}}
                """)
            let engine = Engine(resources: BuiltInResources.all(http: HTTPClientTransport()))
            let ok = await engine.run(machine, input: ["url": .string("http://127.0.0.1:\(port)/quote.json")])
            #expect(ok.status == "SUCCEEDED", "\(ok.error?.description ?? "")")
            #expect(ok.output == ["status": 200, "text": "OK", "price": 12.5, "sku": "a1", "type": "application/json"])
            let missing = await engine.run(machine, input: ["url": .string("http://127.0.0.1:\(port)/missing.json")])
            #expect(missing.error?.error == "States.Http.StatusCode.404")
        }
        // The pipelines' resources give the HTTP task this transport too.
        let home = NSTemporaryDirectory() + "slipway-http-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: home) }
        let closed = try await Self.closedPort()
        let machine = try StateMachine(json: #"{"StartAt": "Get", "States": {"Get": {"Type": "Task", "Resource": "slipway:http", "Parameters": {"ApiEndpoint.$": "$.url"}, "End": true}}}"#)
        let refused = await Engine(resources: TrainingResources(home: home, registry: try Registry(home: home), logger: LogLines().logger).all)
            .run(machine, input: ["url": .string("http://127.0.0.1:\(closed)/quote.json")])
        #expect(refused.error?.error == "States.Http.Socket")
        #expect(refused.error?.cause.hasPrefix("GET 'http://127.0.0.1:\(closed)/quote.json' failed: connection refused; check that") == true,
                "\(refused.error?.cause ?? "")")
    }

    @Test func aWebhookIsRetriedUntilItAnswers2xxAndEveryAttemptIsRecorded() async throws {
        let home = NSTemporaryDirectory() + "slipway-webhook-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: home) }
        let registry = try Registry(home: home)
        final class Received: Sendable { let posts = Mutex<[(type: String, agent: String, body: JSONValue)]>([]) }
        let received = Received()
        let router = Router()
        router.post("/hook") { request, _ -> Response in
            let body = try await request.body.collect(upTo: 1 << 20)
            let count = received.posts.withLock {
                $0.append((request.headers[.contentType] ?? "", request.headers[.userAgent] ?? "", (try? JSONValue(parsing: Array(buffer: body))) ?? .null))
                return $0.count
            }
            return Response(status: count == 1 ? .internalServerError : .noContent)
        }
        try await Self.withServer(router) { port in
            let log = LogLines()
            var notifier = Notifier(registry: registry, logger: log.logger)
            notifier.firstRetryDelay = 0.01
            let attempts = await notifier.notify("ModelTrained", details: ["model": "m"], targets: [.webhook("http://127.0.0.1:\(port)/hook")])
            #expect(attempts.map(\.detail) == ["HTTP 500", "HTTP 204"])
            #expect(attempts.map(\.delivered) == [false, true])
            let bodies = received.posts.withLock { $0 }
            #expect(bodies.count == 2)
            let event = try #require(bodies.last)
            #expect(event.type == "application/json" && event.agent == "slipway")
            #expect(event.body["event"] == "ModelTrained" && event.body["model"] == "m")
            let id = try #require(event.body["id"]?.stringValue)
            let records = try registry.query(Notifier.table, partition: id).items.map(\.attributes)
            #expect(records.map { $0["outcome"] } == ["failed", "delivered"])
            #expect(records.map { $0["detail"] } == ["HTTP 500", "HTTP 204"])
            #expect(log.entries.filter { $0.level >= .warning }.isEmpty, "a delivery that succeeded in the end is no warning: \(log.all)")
        }
    }

    @Test func aWebhookNobodyListensOnFailsEachAttemptAtOnceAndWarnsWithTheTargetAndTheError() async throws {
        let home = NSTemporaryDirectory() + "slipway-webhook-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: home) }
        let closed = try await Self.closedPort()
        let log = LogLines()
        var notifier = Notifier(registry: try Registry(home: home), logger: log.logger)
        notifier.attempts = 3
        notifier.firstRetryDelay = 0.01
        let started = ContinuousClock.now
        let attempts = await notifier.notify("BuildFailed", details: [:], targets: [.webhook("http://127.0.0.1:\(closed)/hook")])
        #expect(ContinuousClock.now - started < .seconds(5), "a refused connection is not retried until the 10 s timeout")
        #expect(attempts.count == 3)
        #expect(attempts.allSatisfy { !$0.delivered && $0.detail.hasPrefix("connection refused; check that") }, "\(attempts.map(\.detail))")
        let warnings = log.entries.filter { $0.level == .warning }
        #expect(warnings.count == 1, "one warning per target that was not reached: \(log.all)")
        let warning = try #require(warnings.first)
        #expect(warning.message == "notification not delivered")
        #expect(warning.metadata["notification.target"] == "0: webhook http://127.0.0.1:\(closed)/hook")
        #expect(warning.metadata["notification.event"] == "BuildFailed")
        #expect(warning.metadata["notification.attempts"] == "3")
        #expect(warning.metadata["error.message"]?.hasPrefix("connection refused; check that") == true, "\(log.all)")
    }

    @Test func aServerThatDoesNotAnswerInTimeIsATimeoutNamingTheURL() async throws {
        let router = Router()
        router.get("/slow") { _, _ -> Response in
            try await Task.sleep(for: .seconds(8))
            return Response(status: .ok)
        }
        try await Self.withServer(router) { port in
            let url = "http://127.0.0.1:\(port)/slow"
            let started = ContinuousClock.now
            let error = await #expect(throws: HTTPTransportError.self) {
                _ = try await HTTPClientTransport().send(method: "GET", url: url, headers: [], body: nil, timeout: .seconds(1))
            }
            #expect(error?.description == "GET '\(url)' failed: no answer within 1 s; the server may be busy or stuck; check it, or allow it more time")
            // Well before the server would have answered (a bound on the wait, not on speed).
            #expect(ContinuousClock.now - started < .seconds(6))
        }
    }

    @Test func aBodyThatStallsAfterTheHeadIsATimeoutError() async throws {
        let router = Router()
        let headWritten = Mutex(false)
        router.get("/stall") { _, _ -> Response in
            Response(status: .ok, body: ResponseBody { writer in
                try await writer.write(ByteBuffer(string: "first part"))
                headWritten.withLock { $0 = true }
                try await Task.sleep(for: .seconds(8))
                try await writer.finish(nil)
            })
        }
        try await Self.withServer(router) { port in
            let url = "http://127.0.0.1:\(port)/stall"
            let error = await #expect(throws: HTTPTransportError.self) {
                _ = try await HTTPClientTransport().send(method: "GET", url: url, headers: [], body: nil, timeout: .seconds(2))
            }
            #expect(headWritten.withLock { $0 }, "the server never sent the head, so the body's wait was not what timed out")
            #expect(error?.reason == "no answer within 2 s")
            // Not asserted: when it ends. Alone it ends at the timeout; in one loaded full run
            // it ended only with the stall (9.4 s), as if AsyncHTTPClient's body stream
            // ignored the cancellation. Known, not fixed yet.
        }
    }
}
