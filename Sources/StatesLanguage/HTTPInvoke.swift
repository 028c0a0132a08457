import Foundation
import JSON
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

extension BuiltInResources {
    /// `arn:aws:states:::http:invoke` (also `slipway:http`), like Step Functions' HTTP task:
    /// Parameters `ApiEndpoint`, `Method`, optional `Headers`, `QueryParameters` and
    /// `RequestBody` (JSON, or a string). The result is `{"StatusCode", "StatusText",
    /// "Headers", "ResponseBody"}` (the body parsed when it is JSON); a status that is not
    /// 2xx fails with `States.Http.StatusCode.NNN`, as AWS does.
    package struct HTTPInvoke: TaskResource {
        package init() {}

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
            guard let url = components.url else { throw StatesError("States.Runtime", "invalid ApiEndpoint '\(endpoint)'") }
            var http = URLRequest(url: url, timeoutInterval: 60)
            http.httpMethod = method
            if case .object(let headers)? = input["Headers"] {
                for (name, value) in headers { http.setValue(value.stringValue ?? value.serialized(), forHTTPHeaderField: name) }
            }
            if let body = input["RequestBody"] {
                if case .string(let text) = body {
                    http.httpBody = Data(text.utf8)
                } else {
                    http.httpBody = Data(body.serializedBytes())
                    if http.value(forHTTPHeaderField: "Content-Type") == nil { http.setValue("application/json", forHTTPHeaderField: "Content-Type") }
                }
            }
            let data: Data
            let response: URLResponse
            do {
                (data, response) = try await URLSession.shared.data(for: http)
            } catch {
                throw StatesError("States.Http.Socket", "\(method) \(url.absoluteString) failed: \(error.localizedDescription)")
            }
            guard let status = (response as? HTTPURLResponse)?.statusCode else { throw StatesError("States.Http.Socket", "no HTTP response from \(url)") }
            var headers: [String: JSONValue] = [:]
            for (name, value) in (response as? HTTPURLResponse)?.allHeaderFields ?? [:] {
                headers["\(name)"] = .string("\(value)")
            }
            let text = String(decoding: data, as: UTF8.self)
            let body = (try? JSONValue(parsing: Array(data))) ?? .string(text)
            guard (200..<300).contains(status) else {
                throw StatesError("States.Http.StatusCode.\(status)", "\(method) \(url.absoluteString) answered \(status): \(text.prefix(500))")
            }
            return ["StatusCode": .int(Int64(status)), "StatusText": .string(HTTPURLResponse.localizedString(forStatusCode: status)),
                    "Headers": .object(headers), "ResponseBody": body]
        }
    }
}
