import Foundation
import Serving
import StatesLanguage

/// Sends requests to an endpoint through the agent that serves a home (the address in
/// `HOME/serving.json`): what `slipway endpoints invoke` and the quickstart call.
package struct EndpointClient: Sendable {
    /// The Slipway home whose agent serves the endpoints.
    package let home: String
    /// How requests reach the agent (AsyncHTTPClient, or one that answers from memory).
    package let transport: any HTTPTransport

    /// A client of the agent serving `home`, through `transport`.
    package init(home: String, transport: any HTTPTransport = HTTPClientTransport()) {
        self.home = home
        self.transport = transport
    }

    /// Why an invocation got no successful answer.
    package enum Failure: Error, Sendable, Equatable, CustomStringConvertible {
        /// The name is not an endpoint name.
        case invalidName(String)
        /// No agent serves the home.
        case noAgent(home: String)
        /// The agent did not answer: the URL and why.
        case unreachable(url: String, reason: String, home: String)
        /// The endpoint answered with a status outside 2xx, and this body.
        case answered(endpoint: String, status: Int, body: String)

        /// What failed, the subject in quotes, and what to do.
        package var description: String {
            switch self {
            case .invalidName(let name):
                "invalid endpoint name '\(name)'; see `slipway endpoints list`"
            case .noAgent(let home):
                "no agent serves endpoints for \(home); start one with `slipway agent`"
            case .unreachable(let url, let reason, let home):
                "the request to the agent at '\(url)' failed: \(reason); check that `slipway agent` still runs for \(home)"
            case .answered(let endpoint, let status, let body):
                "endpoint '\(endpoint)' answered \(status): \(body)"
            }
        }
    }

    /// POSTs `body` (of `contentType`, asking for `accept`) to endpoint `name` and returns
    /// the answer's text. Waits up to `timeout` for the answer.
    package func invoke(_ name: String, body: [UInt8], contentType: String = "application/json", accept: String? = nil,
                        timeout: Duration = .seconds(70)) async throws(Failure) -> String {
        guard EndpointRecords.isValidName(name) else { throw .invalidName(name) }
        guard let agent = ServingMarker.read(home: home) else { throw .noAgent(home: home) }
        let url = "http://\(agent.host):\(agent.port)/endpoints/\(name)/invocations"
        var headers = [(name: "Content-Type", value: contentType)]
        if let accept { headers.append((name: "Accept", value: accept)) }
        let response: HTTPTransportResponse
        do {
            response = try await transport.send(method: "POST", url: url, headers: headers, body: body, timeout: timeout)
        } catch {
            throw .unreachable(url: url, reason: error.reason, home: home)
        }
        let text = String(decoding: response.body, as: UTF8.self)
        guard (200..<300).contains(response.status) else { throw .answered(endpoint: name, status: response.status, body: text) }
        return text
    }
}
