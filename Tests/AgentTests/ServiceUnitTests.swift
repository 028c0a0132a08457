import Foundation
import Testing
@testable import Agent

@Suite struct ServiceUnitTests {
    @Test func theRenderedUnitIsTheShippedTemplateFilledIn() throws {
        let template = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../hooks/slipway-agent.service").standardized
        let shipped = try String(contentsOf: template, encoding: .utf8)
            .split(separator: "\n", omittingEmptySubsequences: false).filter { !$0.hasPrefix("#") }.joined(separator: "\n")
            .replacingOccurrences(of: "@USER@", with: "builder").replacingOccurrences(of: "@HOME@", with: "/srv/slipway")
            .replacingOccurrences(of: "@SLIPWAY@", with: "/usr/local/bin/slipway")
        #expect(ServiceUnit.render(executable: "/usr/local/bin/slipway", home: "/srv/slipway", user: "builder") == shipped)
    }
}
