import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import StatesLanguage

/// The HTTP transport on AsyncHTTPClient, for the HTTP task, webhooks and the CLI's calls to
/// the agent. Every instance sends through one client per process (`client`), so
/// connections are pooled and nothing needs shutting down.
package struct HTTPClientTransport: HTTPTransport {
    /// The largest response body read; a longer one fails the request.
    package var maxBodyBytes = 32 << 20

    /// A transport on the process's client.
    package init() {}

    /// The process's client: AsyncHTTPClient's browser-like settings (as `HTTPClient.shared`:
    /// redirects followed, compressed bodies inflated), except that a connection that cannot
    /// be made fails its request at once. (`HTTPClient.shared` retries it until the request's
    /// deadline, so a webhook nobody listens on would cost the whole timeout per attempt.)
    /// Like `HTTPClient.shared`, it lives as long as the process and is never shut down.
    package static let client: HTTPClient = {
        var configuration = HTTPClient.Configuration.singletonConfiguration
        configuration.connectionPool.retryConnectionEstablishment = false
        return HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
    }()

    /// Sends one request and collects the whole answer within `timeout` (connecting,
    /// the head and the body together); a refused connection fails at once.
    package func send(method: String, url: String, headers: [(name: String, value: String)], body: [UInt8]?,
                      timeout: Duration) async throws(HTTPTransportError) -> HTTPTransportResponse {
        var request = HTTPClientRequest(url: url)
        request.method = HTTPMethod(rawValue: method)
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let body { request.body = .bytes(body) }
        let limit = maxBodyBytes
        let end = ContinuousClock.now + timeout
        do {
            let response = try await Self.client.execute(request, deadline: .now() + TimeAmount(timeout))
            // The deadline covers the response's head; the body gets what is left of the timeout.
            let bytes = try await withThrowingTaskGroup(of: ByteBuffer?.self) { group in
                group.addTask { try await response.body.collect(upTo: limit) }
                group.addTask {
                    try await Task.sleep(until: end, clock: .continuous)
                    return nil
                }
                defer { group.cancelAll() }
                guard case let buffer?? = try await group.next() else { throw HTTPClientError.deadlineExceeded }
                return buffer
            }
            return HTTPTransportResponse(status: Int(response.status.code), reason: response.status.reasonPhrase,
                                         headers: response.headers.map { ($0.name, $0.value) }, body: Array(buffer: bytes))
        } catch {
            let (reason, hint) = Self.explain(error, timeout: timeout, limit: limit)
            throw HTTPTransportError(method: method, url: url, reason: reason, hint: hint)
        }
    }

    /// Why a request failed, in a few words, and what to do about it.
    static func explain(_ error: any Error, timeout: Duration, limit: Int) -> (reason: String, hint: String) {
        let reachable = "check that a server listens at that address"
        switch error {
        case let error as HTTPClientError where error == .deadlineExceeded:
            return ("no answer within \(timeout.secondsText) s", "the server may be busy or stuck; check it, or allow it more time")
        case let error as HTTPClientError where [.connectTimeout, .getConnectionFromPoolTimeout].contains(error):
            return ("connecting timed out", reachable)
        case let error as HTTPClientError where [.invalidURL, .emptyHost, .emptyScheme].contains(error):
            return ("not a usable URL (\(error.shortDescription.lowercased()))", "give a URL like http://host:port/path")
        case let error as HTTPClientError:
            return (error.shortDescription.lowercased(), reachable)
        case let error as NIOConnectionError:
            if let dns = error.dnsAError ?? error.dnsAAAAError {
                return ("cannot resolve host '\(error.host)': \(dns)", "check the host name")
            }
            let causes = error.connectionErrors.map { ($0.error as? IOError).map(Self.systemMessage) ?? "\($0.error)" }
            return (Array(Set(causes)).sorted().joined(separator: ", "), reachable)
        case let error as IOError:
            return (systemMessage(error), reachable)
        case is NIOTooManyBytesError:
            return ("the response body is larger than \(limit) bytes", "ask the server for less")
        case is CancellationError:
            return ("cancelled", "nothing to do: whoever sent it stopped waiting")
        default:
            return ("\(error)", reachable)
        }
    }

    /// An I/O error as its system message: "connection refused".
    static func systemMessage(_ error: IOError) -> String { String(cString: strerror(error.errnoCode)).lowercased() }
}

extension Duration {
    /// Whole and fractional seconds, for messages: "10", "0.5".
    fileprivate var secondsText: String {
        let value = Double(components.seconds) + Double(components.attoseconds) / 1e18
        return value == value.rounded() ? String(Int64(value)) : String(value)
    }
}
