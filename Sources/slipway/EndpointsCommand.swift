import ArgumentParser
import Foundation
import Pipelines
import Registry
import Serving
import StatesLanguage

/// `slipway endpoints list|describe|invoke|delete`.
struct EndpointsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "endpoints", abstract: "The endpoints the agent serves.",
        subcommands: [List.self, Describe.self, Invoke.self, Delete.self])

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Every endpoint with its status and what it serves.")
        @Flag(help: "Print a JSON array of endpoint descriptions.") var json = false
        @OptionGroup var home: HomeOption

        func run() throws {
            let records = EndpointRecords(registry: try home.registry())
            let names = try records.registry.scan(EndpointRecords.endpoints).items.map(\.key.partition)
            let all = names.compactMap { try? records.describe($0) }
            if json { print(JSONValue.array(all).serialized()); return }
            if all.isEmpty { print("no endpoints; deploy one with `slipway deploy MODEL`") }
            for endpoint in all {
                print("\(endpoint["name"]?.stringValue ?? "?")\t\(endpoint["status"]?.stringValue ?? "?")\t\(endpoint["model"]?.stringValue ?? "-") v\(endpoint["version"]?.intValue.map(String.init) ?? "-")")
            }
        }
    }

    struct Describe: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "An endpoint's status, variants, autoscaling, last update and recent events.")
        @Argument(help: "The endpoint.") var name: String
        @Flag(help: "Print JSON.") var json = false
        @OptionGroup var home: HomeOption

        func run() throws {
            guard let described = try EndpointRecords(registry: try home.registry()).describe(name) else {
                throw CommandFailure.notFound("no endpoint '\(name)'; see `slipway endpoints list`")
            }
            print(described.serialized(pretty: !json))
        }
    }

    struct Invoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Send one request to an endpoint through the running agent and print the answer.")
        @Argument(help: "The endpoint.") var name: String
        @Option(help: "The request body.") var body: String
        @Option(help: "The body's type.") var contentType = "application/json"
        @Option(help: "The answer's type.") var accept: String?
        @OptionGroup var home: HomeOption

        func run() async throws {
            guard EndpointRecords.isValidName(name) else {
                throw CommandFailure(message: "invalid endpoint name '\(name)'; see `slipway endpoints list`", status: ExitStatus.usage)
            }
            guard let agent = ServingMarker.read(home: home.absolutePath) else {
                throw CommandFailure(message: "no agent serves endpoints for \(home.absolutePath); start one with `slipway agent`", status: ExitStatus.failure)
            }
            let url = "http://\(agent.host):\(agent.port)/endpoints/\(name)/invocations"
            var headers = [(name: "Content-Type", value: contentType)]
            if let accept { headers.append((name: "Accept", value: accept)) }
            let response: HTTPTransportResponse
            do {
                response = try await HTTPClientTransport().send(method: "POST", url: url, headers: headers, body: Array(body.utf8), timeout: .seconds(70))
            } catch {
                throw CommandFailure(message: "the request to the agent at '\(url)' failed: \(error.reason); check that `slipway agent` still runs for \(home.absolutePath)",
                                     status: ExitStatus.failure)
            }
            let status = response.status
            let text = String(decoding: response.body, as: UTF8.self)
            guard (200..<300).contains(status) else {
                throw CommandFailure(message: "endpoint '\(name)' answered \(status): \(text)", status: status == 404 ? ExitStatus.notFound : ExitStatus.failure)
            }
            print(text)
        }
    }

    struct Delete: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Remove an endpoint; the agent stops its workers (its versions stay).")
        @Argument(help: "The endpoint.") var name: String
        @OptionGroup var home: HomeOption

        func run() throws {
            guard try EndpointRecords(registry: try home.registry()).delete(name) else {
                throw CommandFailure.notFound("no endpoint '\(name)'; see `slipway endpoints list`")
            }
            print("deleted endpoint '\(name)'")
        }
    }
}
