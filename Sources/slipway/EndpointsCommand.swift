import ArgumentParser
import Foundation
import JSON
import Pipelines
import Serving

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
            let all = try EndpointRecords(registry: try home.registry()).describeAll()
            if json { print(JSONValue.array(all).serialized()); return }
            if all.isEmpty { print("no endpoints; deploy one with `slipway deploy MODEL`") }
            printRows(all.map { endpoint in
                [endpoint["name"]?.stringValue ?? "?", endpoint["status"]?.stringValue ?? "?",
                 "\(endpoint["model"]?.stringValue ?? "-") v\(endpoint["version"]?.intValue.map(String.init) ?? "-")"]
            })
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
            do {
                print(try await EndpointClient(home: home.absolutePath).invoke(name, body: Array(body.utf8), contentType: contentType, accept: accept))
            } catch {
                let status = switch error {
                case .invalidName: ExitStatus.usage
                case .answered(_, 404, _): ExitStatus.notFound
                case .noAgent, .unreachable, .answered: ExitStatus.failure
                }
                throw CommandFailure(message: error.description, status: status)
            }
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
