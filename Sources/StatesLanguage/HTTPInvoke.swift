import Foundation
import JSON

extension BuiltInResources {
    /// `arn:aws:states:::http:invoke` (also `slipway:http`), like Step Functions' HTTP task:
    /// Parameters `ApiEndpoint`, `Method`, optional `Headers`, `QueryParameters` and
    /// `RequestBody` (JSON, or a string). The result is `{"StatusCode", "StatusText",
    /// "Headers", "ResponseBody"}` (the body parsed when it is JSON); a status that is not
    /// 2xx fails with `States.Http.StatusCode.NNN`, as AWS does, and no answer at all with
    /// `States.Http.Socket`. Requests go through the injected `transport`; without one the
    /// task fails with `States.TaskFailed`.
    package struct HTTPInvoke: TaskResource {
        /// Where requests go; nil: this engine makes no HTTP calls.
        package let transport: (any HTTPTransport)?
        /// How long one request may take.
        package var timeout: Duration = .seconds(60)

        /// The HTTP task sending its requests through `transport`.
        package init(transport: (any HTTPTransport)?) { self.transport = transport }

        package func invoke(_ request: TaskRequest) async throws(StatesError) -> JSONValue {
            let input = request.input
            guard let endpoint = input["ApiEndpoint"]?.stringValue, var components = URLComponents(string: endpoint),
                components.scheme == "http" || components.scheme == "https"
            else {
                throw StatesError("States.Runtime", "the HTTP task needs ApiEndpoint, an http(s) URL; got \(input["ApiEndpoint"] ?? .null)")
            }
            let method = input["Method"]?.stringValue?.uppercased() ?? "GET"
            if case .object(let query)? = input["QueryParameters"] {
                components.queryItems = (components.queryItems ?? []) + query.keys.sorted().map {
                    URLQueryItem(name: $0, value: query[$0]!.stringValue ?? query[$0]!.serialized())
                }
            }
            guard let url = components.url?.absoluteString else { throw StatesError("States.Runtime", "invalid ApiEndpoint '\(endpoint)'") }
            guard let transport else {
                throw StatesError("States.TaskFailed", "cannot \(method) '\(url)': this engine has no HTTP transport; "
                    + "run the definition through Slipway's pipelines (`slipway states run`, the agent), which give the HTTP task one")
            }
            var headers: [(name: String, value: String)] = []
            if case .object(let fields)? = input["Headers"] {
                for name in fields.keys.sorted() { headers.append((name, fields[name]!.stringValue ?? fields[name]!.serialized())) }
            }
            var body: [UInt8]?
            if let requestBody = input["RequestBody"] {
                if case .string(let text) = requestBody {
                    body = Array(text.utf8)
                } else {
                    body = requestBody.serializedBytes()
                    if !headers.contains(where: { $0.name.lowercased() == "content-type" }) { headers.append(("Content-Type", "application/json")) }
                }
            }
            let response: HTTPTransportResponse
            do {
                response = try await transport.send(method: method, url: url, headers: headers, body: body, timeout: timeout)
            } catch {
                throw StatesError("States.Http.Socket", error.description)
            }
            var responseHeaders: [String: JSONValue] = [:]
            for (name, value) in response.headers {
                if case .string(let earlier)? = responseHeaders[name] {
                    responseHeaders[name] = .string(earlier + ", " + value)
                } else {
                    responseHeaders[name] = .string(value)
                }
            }
            let text = String(decoding: response.body, as: UTF8.self)
            let parsed = (try? JSONValue(parsing: response.body)) ?? .string(text)
            guard (200..<300).contains(response.status) else {
                throw StatesError("States.Http.StatusCode.\(response.status)", "\(method) \(url) answered \(response.status): \(text.prefix(500))")
            }
            return ["StatusCode": .int(Int64(response.status)), "StatusText": .string(response.reason),
                    "Headers": .object(responseHeaders), "ResponseBody": parsed]
        }
    }
}
