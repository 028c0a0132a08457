import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import Registry
import ServiceLifecycle

/// The HTTP front of every endpoint (Hummingbird): `GET /ping` answers 200 while the agent
/// runs; `POST /endpoints/NAME/invocations` sends the body to a worker of the endpoint with
/// its `Content-Type` and `Accept`, and answers with the model's output, the variant that
/// answered in `X-Amzn-Invoked-Production-Variant` (SageMaker's header). Errors are JSON,
/// `{"error": "..."}`: 404 for an unknown endpoint, 413 for a body past the limit, 415 and
/// 400 from the model's input handling, 406 for an Accept it cannot produce, 500 with the
/// model's message when it raised, 503 while no variant is in service, 504 when a worker
/// took too long. Connections are bounded by ``ServerLimits``: idle and slow ones are closed,
/// and past the cap only `/ping` is served, from a reserve.
package struct EndpointServer: Service, Sendable {
    /// The endpoints served.
    package let manager: EndpointManager
    /// The address and port listened on (port 0: any free one, told to `onListening`).
    package let host: String
    package let port: Int
    /// The largest request body accepted (SageMaker's real-time limit is 6 MB).
    package var maxBodyBytes = 6 << 20
    /// Timeouts and the cap on open connections.
    package let limits: ServerLimits
    /// The connections open now, and those refused (past the cap).
    package let connections: ConnectionCounter
    private let logger: Logger
    private let onListening: @Sendable (Int) async -> Void

    /// A server for `manager`'s endpoints on `host:port` (port 0: any free one), logging to
    /// `logger`, bounding connections by `limits`; `onListening` gets the bound port once it listens.
    package init(manager: EndpointManager, host: String = "127.0.0.1", port: Int, limits: ServerLimits = ServerLimits(), logger: Logger,
                 onListening: @escaping @Sendable (Int) async -> Void = { _ in }) {
        self.manager = manager
        self.limits = limits
        connections = ConnectionCounter(limits: limits)
        self.host = host
        self.port = port
        self.logger = logger
        self.onListening = onListening
    }

    /// Serves until graceful shutdown (it finishes the requests it holds) or cancellation.
    package func run() async throws {
        let router = Router()
        let manager = self.manager
        let limit = maxBodyBytes
        router.get("/ping") { _, _ in
            Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: #"{"status":"ok"}"#)))
        }
        router.post("/endpoints/:name/invocations") { request, context -> Response in
            let name = context.parameters.get("name") ?? ""
            if let length = request.headers[.contentLength].flatMap(Int.init), length > limit {
                return Self.error(413, "the body is \(length) bytes; the limit is \(limit) bytes")
            }
            let body: ByteBuffer
            do {
                body = try await request.body.collect(upTo: limit)
            } catch {
                return Self.error(413, "the body is larger than the limit of \(limit) bytes")
            }
            let invocation = Invocation(body: Array(buffer: body), contentType: request.headers[.contentType] ?? "application/json",
                                        accept: request.headers[.accept] ?? "")
            let (variant, result) = await manager.invoke(endpoint: name, invocation)
            var headers: HTTPFields = [.contentType: result.contentType]
            if let variant, let field = Self.variantHeader { headers[field] = variant }
            return Response(status: .init(code: result.status), headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: result.body)))
        }
        let counter = connections
        let http1 = HTTP1Channel.Configuration(additionalChannelHandlers: [ConnectionGuardInstaller(counter: counter)],
                                               idleTimeout: .nanoseconds(Int64(limits.idleTimeout / .nanoseconds(1))))
        let app = Application(
            router: router, server: .http1(configuration: http1), configuration: .init(address: .hostname(host, port: port), serverName: "slipway"),
            onServerRunning: { [onListening] channel in await onListening(channel.localAddress?.port ?? 0) }, logger: logger)
        // Hummingbird's Application is a Service: it ends on the graceful shutdown of the group this runs in.
        try await app.run()
    }

    /// SageMaker's name for the header that names the variant that answered.
    static let variantHeader = HTTPField.Name("X-Amzn-Invoked-Production-Variant")

    static func error(_ status: Int, _ message: String) -> Response {
        Response(status: .init(code: status), headers: [.contentType: "application/json"],
                 body: .init(byteBuffer: ByteBuffer(string: JSONValue.object(["error": .string(message)]).serialized())))
    }
}
