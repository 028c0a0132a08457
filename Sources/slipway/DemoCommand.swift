import ArgumentParser
import Registry

/// `slipway demo`: walks through the registry the way the build pipeline will use it.
struct DemoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Record two builds of a model in the registry and read them back (a tour of the registry).")
    @OptionGroup var home: HomeOption

    func run() throws {
        let registry = try home.registry()
        print("registry: \(registry.root)")
        let model = "demand"
        let previous = try registry.get("models", ItemKey(model))
        let number = (previous?.attributes["builds"]?.intValue ?? 0) + 1
        let build = "build-" + String(String(number).reversed()).padding(toLength: 6, withPad: "0", startingAt: 0).reversed()
        let condition: Condition = previous.map { .version($0.version) } ?? .absent
        try registry.transact([
            .put(table: "builds", key: ItemKey(model, build),
                 attributes: ["status": "succeeded", "commit": .string(String(repeating: "\(number % 10)", count: 40))],
                 condition: .absent),
            .update(table: "models", key: ItemKey(model),
                    changes: [.set("latestBuild", .string(build)), .add("builds", 1)], condition: condition),
        ])
        print("1. recorded \(build) and moved the model's latest pointer in one transaction")

        do {
            try registry.put("models", ItemKey(model), ["latestBuild": "stale"], condition: condition)
        } catch {
            print("2. a stale writer is refused: \(error)")
        }

        let latest = try registry.get("models", ItemKey(model))!
        print("3. models/\(model) is at version \(latest.version): \(JSONValue.object(latest.attributes))")
        let recent = try registry.query("builds", partition: model, where: .prefix("build-"), descending: true, limit: 3)
        print("4. newest builds of \(model): \(recent.items.compactMap(\.key.sort).joined(separator: ", "))")
        print("Try: slipway registry scan builds --home \(home.path)")
    }
}
