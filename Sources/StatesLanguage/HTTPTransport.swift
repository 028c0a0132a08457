/// How the HTTP task (`arn:aws:states:::http:invoke`) reaches the network: one request in,
/// one whole response out. The engine knows nothing of HTTP libraries; whoever assembles the
/// task resources passes a transport in (Pipelines passes its AsyncHTTPClient one), and a
/// test can pass one that answers from memory.
package protocol HTTPTransport: Sendable {
    /// Sends `method` to `url` with `headers` and `body` (nil: none) and returns the response,
    /// whatever its status, once its whole body has arrived. Throws when no response came
    /// within `timeout`: the host could not be reached, refused, or did not answer in time.
    func send(method: String, url: String, headers: [(name: String, value: String)], body: [UInt8]?,
              timeout: Duration) async throws(HTTPTransportError) -> HTTPTransportResponse
}

/// An HTTP response with its whole body.
package struct HTTPTransportResponse: Sendable {
    /// The status code (200, 404, ...).
    package var status: Int
    /// The status's reason phrase ("OK", "Not Found"), empty when unknown.
    package var reason: String
    /// The header fields in the order they came, names as the server spelled them.
    package var headers: [(name: String, value: String)]
    /// The body's bytes.
    package var body: [UInt8]

    /// A response of `status` (with its `reason` phrase), `headers` and `body`.
    package init(status: Int, reason: String = "", headers: [(name: String, value: String)] = [], body: [UInt8] = []) {
        self.status = status
        self.reason = reason
        self.headers = headers
        self.body = body
    }
}

/// A request that got no HTTP response: what was asked, why it failed, and what to do.
package struct HTTPTransportError: Error, Sendable, CustomStringConvertible {
    /// The request's method.
    package var method: String
    /// The request's URL.
    package var url: String
    /// Why, in a few words: "connection refused", "no answer within 10 s".
    package var reason: String
    /// What a person can do about it.
    package var hint: String

    /// The failure of `method url`: `reason`, with a `hint` saying what to do.
    package init(method: String, url: String, reason: String, hint: String) {
        self.method = method
        self.url = url
        self.reason = reason
        self.hint = hint
    }

    /// `POST 'http://...' failed: connection refused; check that ...`.
    package var description: String { "\(method) '\(url)' failed: \(reason); \(hint)" }
}
