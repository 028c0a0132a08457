import NIOCore
import NIOHTTP1
import Synchronization

/// The HTTP server's defences against clients that misbehave: how long a connection may
/// sit idle or take to send a request, and how many connections may be open at once.
package struct ServerLimits: Sendable, Equatable {
    /// A connection that has not sent a complete request head for this long (idle between
    /// requests, or dribbling its headers) is closed.
    package var idleTimeout = Duration.seconds(30)
    /// A request whose body has not fully arrived this long after its head is dropped and
    /// its connection closed.
    package var bodyTimeout = Duration.seconds(30)
    /// Connections open at once before the reserve is used.
    package var maxConnections = 512
    /// Connections past `maxConnections` kept for `reservedPaths`: each serves one request
    /// to one of those paths (any other gets 503) and is closed after it, or after
    /// `reserveTimeout` without a request head. Past the reserve, a connection is closed at once.
    package var reserveConnections = 32
    /// How long a reserve connection may take to send its request head.
    package var reserveTimeout = Duration.seconds(2)
    /// Paths (exact, or a prefix ending in `/`) that a reserve connection may ask for:
    /// health checks, and the control plane.
    package var reservedPaths = ["/ping"]
    /// The defaults.
    package init() {}

    /// Whether a reserve connection may ask for `uri` (its query ignored).
    func isReserved(_ uri: String) -> Bool {
        let path = uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? uri
        return reservedPaths.contains { $0.hasSuffix("/") ? path.hasPrefix($0) : path == $0 }
    }
}

/// Counts the server's open connections and gives each a slot: regular, reserve, or none.
package final class ConnectionCounter: Sendable {
    /// The kind of slot a new connection gets.
    enum Slot: Sendable, Equatable { case regular, reserve, refused }
    private let open = Atomic<Int>(0)
    private let refusals = Atomic<Int>(0)
    let limits: ServerLimits

    init(limits: ServerLimits) { self.limits = limits }

    /// Connections open now (those being refused included, until they are closed).
    package var current: Int { open.load(ordering: .relaxed) }
    /// Connections closed at once because the reserve was full too, or refused a
    /// non-reserved request from the reserve, since the server started.
    package var refused: Int { refusals.load(ordering: .relaxed) }

    func admit() -> Slot {
        let count = open.wrappingAdd(1, ordering: .sequentiallyConsistent).newValue
        if count <= limits.maxConnections { return .regular }
        if count <= limits.maxConnections + limits.reserveConnections { return .reserve }
        refusals.wrappingAdd(1, ordering: .relaxed)
        return .refused
    }

    func release() { open.wrappingSubtract(1, ordering: .sequentiallyConsistent) }

    func countRefusal() { refusals.wrappingAdd(1, ordering: .relaxed) }
}

/// Installs a ``ConnectionGuard`` right after the HTTP/1 decoder of a Hummingbird channel
/// (where requests are NIOHTTP1 parts), then passes everything through.
final class ConnectionGuardInstaller: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = NIOAny
    private let counter: ConnectionCounter

    init(counter: ConnectionCounter) { self.counter = counter }

    func handlerAdded(context: ChannelHandlerContext) {
        let operations = context.pipeline.syncOperations
        do {
            let decoder = try operations.handler(type: ByteToMessageHandler<HTTPRequestDecoder>.self)
            try operations.addHandler(ConnectionGuard(counter: counter), position: .after(decoder))
        } catch {
            // Without its guard a connection is not served: Hummingbird's pipeline changed.
            context.close(promise: nil)
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) { context.fireChannelRead(data) }
}

/// One connection's guard: takes a slot from the counter when the connection opens (closing
/// it when there is none), bounds the time a request's body may take, and holds a reserve
/// connection to one request for a reserved path.
final class ConnectionGuard: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    private let counter: ConnectionCounter
    private var slot: ConnectionCounter.Slot?
    private var released = false
    private var timer: Scheduled<Void>?
    /// The request being read was answered here (refused): drop its remaining parts.
    private var discarding = false

    init(counter: ConnectionCounter) { self.counter = counter }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { admit(context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        admit(context)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        release()
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) { release() }

    private func admit(_ context: ChannelHandlerContext) {
        guard slot == nil else { return }
        let slot = counter.admit()
        self.slot = slot
        switch slot {
        case .regular: break
        case .reserve: schedule(context, counter.limits.reserveTimeout)
        case .refused: context.close(promise: nil)
        }
    }

    private func release() {
        cancelTimer()
        guard slot != nil, !released else { return }
        released = true
        counter.release()
    }

    private func schedule(_ context: ChannelHandlerContext, _ limit: Duration) {
        cancelTimer()
        let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
        timer = context.eventLoop.scheduleTask(in: .nanoseconds(Int64(limit / .nanoseconds(1)))) {
            loopBound.value.close(promise: nil)
        }
    }

    private func cancelTimer() {
        timer?.cancel()
        timer = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            discarding = false
            if slot == .reserve, !counter.limits.isReserved(head.uri) {
                counter.countRefusal()
                discarding = true
                cancelTimer()
                refuse(context, head: head)
                return
            }
            schedule(context, counter.limits.bodyTimeout)
        case .body:
            if discarding { return }
        case .end:
            if discarding { return }
            cancelTimer()
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        guard slot == .reserve, case .end = unwrapOutboundIn(data) else {
            context.write(data, promise: promise)
            return
        }
        // A reserve connection serves one request.
        context.writeAndFlush(data, promise: promise)
        context.close(promise: nil)
    }

    /// Answers 503 from here (the request never reaches the router) and closes.
    private func refuse(_ context: ChannelHandlerContext, head: HTTPRequestHead) {
        let limits = counter.limits
        let message = #"{"error":"the server has \#(limits.maxConnections) connections open, its limit; only \#(limits.reservedPaths.joined(separator: ", ")) is served past it. Close idle connections, or retry shortly"}"#
        var buffer = context.channel.allocator.buffer(capacity: message.utf8.count)
        buffer.writeString(message)
        var headers = HTTPHeaders([("Content-Type", "application/json"), ("Connection", "close"), ("Retry-After", "1")])
        headers.add(name: "Content-Length", value: "\(buffer.readableBytes)")
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: .serviceUnavailable, headers: headers))), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(buffer))), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        context.close(promise: nil)
    }
}
