import ArgumentParser
import Foundation
import JSON
import Quickstart
import Serving

/// `slipway quickstart`: from nothing to a served price, on the embedded defaults; the
/// `Quickstart` library does the steps, this prints them.
struct QuickstartCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "quickstart",
        abstract: "Create a home, push the price-optimiser fixtures, train, approve, deploy, and ask for a price.",
        discussion: "The agent it starts keeps running in the background, so that you can push changes and watch them build, train and deploy.")
    @Option(help: "The fixtures folder (default: fixtures/price-optimiser of this checkout).") var fixtures: String?
    @Option(help: "The port endpoints are served on (0 picks a free one).") var port = 8080
    @OptionGroup var home: HomeOption

    func run() async throws {
        let folders = [FileManager.default.currentDirectoryPath] + Quickstart.folderAndParents(of: (executablePath() as NSString).deletingLastPathComponent)
        guard let source = fixtures ?? Quickstart.findFixtures(in: folders) else {
            throw CommandFailure(message: "cannot find fixtures/price-optimiser; run from Slipway's checkout or pass --fixtures DIR", status: ExitStatus.usage)
        }
        let root = home.absolutePath
        let quickstart = Quickstart(home: root, registry: try home.registry(), fixtures: source, executable: executablePath(), port: port, logger: CLILog.warnings)
        let started = Date()
        let result: Quickstart.Result
        do {
            result = try await quickstart.run { event in
                if event.isOutput {
                    print(event.message.split(separator: "\n").map { "      " + $0 }.joined(separator: "\n"))
                } else {
                    print(String(format: "==> [%4.0fs] ", Date().timeIntervalSince(started)) + event.message)
                }
                fflush(nil)
            }
        } catch let error as QuickstartError {
            throw CommandFailure(message: error.description, status: ExitStatus.failure)
        }
        let priced = (try? JSONValue(parsing: result.answer.trimmingCharacters(in: .whitespacesAndNewlines))) ?? .null
        print(priced == .null ? result.answer : priced.serialized(pretty: true))
        print(String(format: "==> [%4.0fs] done in %.0f s.", Date().timeIntervalSince(started), Date().timeIntervalSince(started)))
        print("""

            What to try next (the agent keeps running; stop it with `kill \(ServingMarker.read(home: root)?.pid ?? 0)`):
              cd \(root)/work/demand && sed -i 's/ridge: .*/ridge: 0.5/' slipway.yaml && git commit -qam 'more ridge' && git push
              slipway builds list demand                 # the push was built
              slipway executions list                    # and trained: slipway logs EXECUTION --follow
              slipway versions list demand               # a new version awaits approval
              slipway approve demand 2 && slipway deploy demand --wait
              slipway endpoints invoke price-optimiser --body '\(result.request.serialized())'
                                                         # the price now names demand version 2
              slipway rollback demand --wait             # back to version 1, without retraining
            (use --home \(root) or export SLIPWAY_HOME=\(root))
            """)
    }
}
