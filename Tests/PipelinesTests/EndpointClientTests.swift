import Foundation
import Hummingbird
import JSON
import Registry
import Serving
import StatesLanguage
import Testing
@testable import Pipelines

/// `slipway endpoints invoke` without the CLI: the agent's address from the serving marker,
/// a real HTTP server standing in for the agent.
@Suite struct EndpointClientTests {
    static func home() -> String {
        var bytes = Array((NSTemporaryDirectory() + "slipway-client-XXXXXX").utf8CString)
        return String(cString: mkdtemp(&bytes)!)
    }

    @Test func anInvocationReachesTheAgentNamedByTheServingMarkerAndSaysWhyItFailed() async throws {
        let home = Self.home()
        defer { try? FileManager.default.removeItem(atPath: home) }
        let client = EndpointClient(home: home)
        await #expect(throws: EndpointClient.Failure.invalidName("a/b")) { try await client.invoke("a/b", body: []) }
        await #expect(throws: EndpointClient.Failure.noAgent(home: home)) { try await client.invoke("price", body: []) }

        let router = Router()
        router.post("/endpoints/price/invocations") { request, _ -> Response in
            let body = try await request.body.collect(upTo: 1 << 16)
            let accept = request.headers[.accept] ?? "-"
            let text = "\(request.headers[.contentType] ?? "-") \(accept) \(String(buffer: body))"
            return Response(status: .ok, body: .init(byteBuffer: ByteBuffer(string: text)))
        }
        try await HTTPTransportTests.withServer(router) { port in
            try ServingMarker.write(home: home, host: "127.0.0.1", port: port)
            let answer = try await client.invoke("price", body: Array(#"{"cost": 4}"#.utf8), contentType: "application/json", accept: "text/csv")
            #expect(answer == #"application/json text/csv {"cost": 4}"#)
            await #expect(throws: EndpointClient.Failure.answered(endpoint: "missing", status: 404, body: "")) {
                try await client.invoke("missing", body: [])
            }
        }
        let port = try await HTTPTransportTests.closedPort()
        try ServingMarker.write(home: home, host: "127.0.0.1", port: port)
        let error = await #expect(throws: EndpointClient.Failure.self) { try await client.invoke("price", body: []) }
        guard case .unreachable(let url, _, _) = error else { Issue.record("\(String(describing: error))"); return }
        #expect(url == "http://127.0.0.1:\(port)/endpoints/price/invocations")
    }
}

@Suite struct DeploymentReportTests {
    @Test func aReportSaysHowTheDeploymentEndedAndWhatTheEndpointServes() throws {
        let home = EndpointClientTests.home()
        defer { try? FileManager.default.removeItem(atPath: home) }
        let deployments = Deployments(home: home, registry: try Registry(home: home))
        let failed = ExecutionOutcome(status: "FAILED", output: nil, error: StatesError("Deploy.TimedOut", "no worker answered"), history: [])
        let report = deployments.report(execution: "deployment-demand-1", outcome: failed, endpoint: "demand")
        #expect(!report.succeeded)
        #expect(report.state == .null, "the endpoint was never recorded")
        #expect(report.lines == ["deployment-demand-1: FAILED", "Deploy.TimedOut: no worker answered"])
        #expect(report.json == ["execution": "deployment-demand-1", "status": "FAILED", "endpoint": .null,
                                "error": "Deploy.TimedOut", "cause": "no worker answered"])

        let succeeded = DeploymentReport(execution: "d", outcome: ExecutionOutcome(status: "SUCCEEDED", output: [:], error: nil, history: []),
                                         endpoint: "demand", state: ["status": "InService", "model": "demand", "version": 2])
        #expect(succeeded.succeeded)
        #expect(succeeded.lines == ["d: SUCCEEDED", "endpoint demand: InService, serving demand version 2"])
        #expect(succeeded.json["error"] == nil)
    }
}
