import Foundation
import Registry
import Testing

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// The price optimiser from nothing: `slipway quickstart` pushes the fixtures, trains,
/// approves and deploys; the composite's prices are close to the generator's true optimum;
/// then a push that changes only the demand model rolls out while the composite answers.
@Suite(.serialized) struct PriceOptimiserTests {
    let shell = Shell()
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../fixtures/price-optimiser").standardized.path

    static func price(_ port: Int, _ request: JSONValue) async throws -> (status: Int, answer: JSONValue?) {
        var http = URLRequest(url: URL(string: "http://127.0.0.1:\(port)/endpoints/price-optimiser/invocations")!, timeoutInterval: 30)
        http.httpMethod = "POST"
        http.setValue("application/json", forHTTPHeaderField: "Content-Type")
        http.httpBody = Data(request.serialized().utf8)
        let (data, response) = try await URLSession.shared.data(for: http)
        return ((response as? HTTPURLResponse)?.statusCode ?? 0, try? JSONValue(parsing: Array(data)))
    }

    @Test func theQuickstartServesPricesNearTheTrueOptimumAndADemandUpdateRollsOutAlone() async throws {
        let quickstart = try await shell.run("\"$SLIPWAY\" quickstart --port 0 --fixtures '\(Self.fixtures)'")
        let marker = try? JSONValue(parsing: String(contentsOfFile: shell.home + "/serving.json", encoding: .utf8))
        defer { if let pid = marker?["pid"]?.intValue { kill(pid_t(pid), SIGTERM) } }
        #expect(quickstart.status == 0, "\(quickstart.stdout)\n\(quickstart.stderr)")
        #expect(quickstart.stdout.contains("approve demand 1"), "the quickstart says how to approve by hand")
        #expect(quickstart.stdout.contains("\"price\""), "\(quickstart.stdout)")
        let port = Int(try #require(marker?["port"]?.intValue))

        // On the generator's ground truth, the optimised price is near the true optimum.
        let truth = try JSONValue(parsing: Array(try Data(contentsOf: URL(fileURLWithPath: Self.fixtures + "/truth.json"))))
        var worst = 0.0
        for (product, facts) in (truth.objectValue ?? [:]).sorted(by: { $0.key < $1.key }) {
            let elasticity = try #require(facts["elasticity"]?.doubleValue)
            let cost = try #require(facts["unit_cost_hint"]?.doubleValue)
            let (status, answer) = try await Self.price(port, ["product": .string(product), "cost": .double(cost), "week": 23,
                                                          "min_price": .double(cost * 1.01), "max_price": .double(cost * 6)])
            #expect(status == 200, "\(product): \(String(describing: answer))")
            let optimum = cost * elasticity / (1 + elasticity)  // constant elasticity: the profit optimum
            let priced = try #require(answer?["price"]?.doubleValue)
            worst = max(worst, abs(priced - optimum) / optimum)
            #expect(answer?["models"]?["demand"]?["version"] == 1 && answer?["models"]?["elasticity"]?["version"] == 1)
        }
        #expect(worst < 0.05, "the worst price is \(String(format: "%.1f", worst * 100))% from the true optimum")
        let bad = try await Self.price(port, ["product": "P01"])
        #expect(bad.status == 500 && bad.answer?["error"]?.stringValue?.contains("cost") == true, "\(String(describing: bad.answer))")

        // Only the demand model changes: demand trains version 2, elasticity nothing new.
        let home = shell.home
        let pushed = try await shell.run("cd '\(home)/work/demand' && sed -i 's/ridge: 0.01/ridge: 0.02/' slipway.yaml && git -c user.name=A -c user.email=a@b commit -qam 'ridge' && git push -q origin main")
        #expect(pushed.status == 0, "\(pushed.stderr)")
        var versions: [JSONValue] = []
        for _ in 0..<240 {
            versions = try JSONValue(parsing: try await shell.run("\"$SLIPWAY\" versions list demand --json").stdout).arrayValue ?? []
            if versions.count == 2 { break }
            try await Task.sleep(for: .milliseconds(500))
        }
        #expect(versions.count == 2 && versions.last?["status"] == "PendingManualApproval", "\(versions)")
        #expect(try await JSONValue(parsing: shell.run("\"$SLIPWAY\" versions list elasticity --json").stdout).arrayValue?.count == 1)
        #expect(try await shell.run("\"$SLIPWAY\" approve demand 2").status == 0)

        let done = Flag()
        let request: JSONValue = ["product": "P02", "cost": 5.93, "week": 10]
        let load = Task {
            var answers: [(Int, Int64?)] = []
            while !done.isSet {
                let (status, answer) = (try? await Self.price(port, request)) ?? (-1, nil)
                answers.append((status, answer?["models"]?["demand"]?["version"]?.intValue))
            }
            return answers
        }
        try await Task.sleep(for: .seconds(1))
        let deployed = try await shell.run("\"$SLIPWAY\" deploy demand --wait --json")
        try await Task.sleep(for: .seconds(1))
        done.set()
        let answers = await load.value
        #expect(deployed.status == 0, "\(deployed.stdout)")
        #expect(answers.count >= 3 && answers.allSatisfy { $0.0 == 200 }, "\(answers.filter { $0.0 != 200 })")
        #expect(answers.last?.1 == 2, "the composite now names demand version 2")
        #expect(try await Self.price(port, request).answer?["models"]?["elasticity"]?["version"] == 1)

        // A demand model that cannot fit (a huge ridge penalty) is rejected by its gates.
        #expect(try await shell.run("cd '\(home)/work/demand' && sed -i 's/ridge: 0.02/ridge: 1000000/' slipway.yaml && git -c user.name=A -c user.email=a@b commit -qam 'too much ridge' && git push -q origin main").status == 0)
        var third: JSONValue = .null
        for _ in 0..<240 {
            third = (try JSONValue(parsing: try await shell.run("\"$SLIPWAY\" versions list demand --json").stdout).arrayValue ?? []).dropFirst(2).first ?? .null
            if third != .null { break }
            try await Task.sleep(for: .milliseconds(500))
        }
        #expect(third["status"] == "Rejected", "\(third)")
        #expect(third["statusReason"]?.stringValue?.contains("regression_metrics.r2.value") == true, "\(third)")
    }
}
