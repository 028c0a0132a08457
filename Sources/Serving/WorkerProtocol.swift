import Registry

/// A request for a model, as the HTTP front received it.
package struct Invocation: Sendable {
    /// The request body, its `Content-Type`, and the `Accept` asked for (empty: the model's default).
    package var body: [UInt8]
    package var contentType: String
    package var accept: String

    /// A request of `body`, typed `contentType`, asking for `accept`.
    package init(body: [UInt8], contentType: String, accept: String) {
        self.body = body
        self.contentType = contentType
        self.accept = accept
    }
}

/// A model's answer: an HTTP-like status, the body and its type; `error` and `cause` when it failed.
package struct InvocationResult: Sendable {
    /// The HTTP status to answer with, the body and its type, and the error message of a failure.
    package var status: Int
    package var contentType: String
    package var body: [UInt8]
    package var error: String?
    /// Who a failure is owed to (nil for an answer); a bake counts only the server's failures.
    package var cause: FailureCause?

    static func failure(_ status: Int, _ message: String, _ cause: FailureCause) -> InvocationResult {
        InvocationResult(status: status, contentType: "application/json", body: Array(JSONValue.object(["error": .string(message)]).serialized().utf8),
                         error: message, cause: cause)
    }
}

/// Why an invocation failed. The client's mistakes (`client`: a malformed body, a content
/// type or an Accept the model does not take, a body too large, an unknown endpoint) say
/// nothing of a version's health, so a bake never counts them; every other cause is the
/// server's and does.
package enum FailureCause: String, Sendable, Equatable, CaseIterable {
    /// The request was wrong (4xx).
    case client
    /// The model raised while handling a valid request (500).
    case model
    /// The worker's process exited or was lost mid-request (500).
    case workerLost
    /// The model took past the request timeout; its worker was killed (504).
    case timedOut
    /// Every worker stayed busy past the queue timeout (503).
    case busy
    /// No variant or worker could take the request (503: starting, restarting, draining).
    case unavailable

    /// Whether a bake counts it as an error of the version that answered.
    package var countsAgainstVersion: Bool { self != .client }

    /// The cause of a status a model's worker answered with.
    static func answered(_ status: Int) -> FailureCause { (400..<500).contains(status) ? .client : .model }
}

/// What a worker process needs: the variant's code, interpreter, unpacked model and limits.
struct WorkerSpec: Sendable {
    var code: String
    var script: String
    var python: String
    var modelFolder: String
    var workerScript: String
    var memoryBytes: Int64
    var logFile: String
}

/// The time limits of workers and pools.
package struct WorkerLimits: Sendable, Equatable {
    /// A request its model has not answered this long after its worker took it fails with
    /// 504, and the worker is killed (it is stuck).
    package var requestTimeout = Duration.seconds(60)
    /// A request no worker has taken this long after it was queued (they are all busy)
    /// fails with 503.
    package var queueTimeout = Duration.seconds(60)
    /// A stopping worker has this long to exit once its input is closed; then it is killed.
    package var stopGrace = Duration.seconds(5)
    /// A draining pool waits this long for the requests it holds, then stops its workers.
    package var drainTimeout = Duration.seconds(120)
    /// The defaults.
    package init() {}
}

/// Why a worker could not answer.
package struct WorkerError: Error, Sendable, CustomStringConvertible {
    /// What failed, for a person.
    package var message: String
    var timedOut = false
    var busy = false
    init(_ message: String, timedOut: Bool = false, busy: Bool = false) {
        self.message = message
        self.timedOut = timedOut
        self.busy = busy
    }
    package var description: String { message }
}

/// One frame of the worker protocol: a JSON header and `header.length` bytes of body. On
/// the pipe: a 4-byte big-endian header length, the header, the body.
struct WorkerFrame: Sendable {
    var header: JSONValue
    var body: [UInt8] = []

    /// The frame's bytes on the pipe.
    var encoded: [UInt8] {
        let text = Array(header.serialized().utf8)
        let count = UInt32(text.count)
        return [UInt8(count >> 24), UInt8((count >> 16) & 0xFF), UInt8((count >> 8) & 0xFF), UInt8(count & 0xFF)] + text + body
    }

    /// The largest header accepted from a worker.
    static let maxHeaderBytes = 1 << 20

    /// The header length a 4-byte prefix announces.
    static func headerLength(_ prefix: some Collection<UInt8>) -> Int {
        prefix.reduce(0) { $0 << 8 | Int($1) }
    }
}
