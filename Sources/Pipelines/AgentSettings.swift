import ArtifactBuilder
import Foundation
import Registry

/// `HOME/agent.json`, the agent's own settings (all optional):
/// `{"host": "127.0.0.1", "port": 8080, "notify": [{"webhook": URL}, {"command": CMD}, {"file": PATH}]}`.
/// Its `notify` targets get every event, whatever the model.
package struct AgentSettings: Sendable, Equatable {
    package var host = "127.0.0.1"
    package var port = 8080
    package var notify: [NotifyTarget] = []

    package init() {}

    package static func path(home: String) -> String { home + "/agent.json" }

    /// The settings in `home`, or the defaults when there is no file. A file that is not
    /// valid is an error that names it, the key and what was expected.
    package static func load(home: String) throws(SettingsError) -> AgentSettings {
        var settings = AgentSettings()
        let path = path(home: home)
        guard let data = FileManager.default.contents(atPath: path) else { return settings }
        guard case .object(let fields)? = try? JSONValue(parsing: Array(data)) else {
            throw SettingsError("\(path) is not a JSON object; fix it or remove it to use the defaults")
        }
        for key in fields.keys where !["host", "port", "notify"].contains(key) {
            throw SettingsError("\(path): unknown key '\(key)'; known: host, port, notify")
        }
        if let host = fields["host"] {
            guard let value = host.stringValue else { throw SettingsError("\(path): 'host' must be a string such as \"127.0.0.1\"") }
            settings.host = value
        }
        if let port = fields["port"] {
            guard let value = port.intValue, (0...65535).contains(value) else { throw SettingsError("\(path): 'port' must be a number from 0 to 65535, not \(port.serialized())") }
            settings.port = Int(value)
        }
        for (index, target) in (fields["notify"]?.arrayValue ?? []).enumerated() {
            switch (target["webhook"]?.stringValue, target["command"]?.stringValue, target["file"]?.stringValue) {
            case (let url?, nil, nil) where url.hasPrefix("http://") || url.hasPrefix("https://"): settings.notify.append(.webhook(url))
            case (nil, let command?, nil): settings.notify.append(.command(command))
            case (nil, nil, let file?): settings.notify.append(.file(file))
            default:
                throw SettingsError("\(path): notify[\(index)] must be one of {\"webhook\": \"http(s)://...\"}, {\"command\": \"...\"}, {\"file\": \"/path\"}, not \(target.serialized())")
            }
        }
        return settings
    }
}

/// A settings file that cannot be used.
package struct SettingsError: Error, Sendable, CustomStringConvertible {
    package var description: String
    init(_ description: String) { self.description = description }
}

/// The agent's end of `deploy.on_approval`: approvals leave `VersionApproved` events (table
/// `version-events`); each is taken once, and those whose config asks for it are returned
/// to be deployed.
package struct ApprovalEvents: Sendable {
    package let resources: TrainingResources

    package init(resources: TrainingResources) { self.resources = resources }

    package func take() -> [(model: String, version: Int)] {
        let registry = resources.registry
        guard let events = try? registry.scan(ModelVersions.events).items else { return [] }
        var deploy: [(String, Int)] = []
        for event in events {
            // Whoever deletes the event handles it, so two agents never both deploy it.
            guard (try? registry.delete(ModelVersions.events, event.key, condition: .version(event.version))) != nil,
                let model = event.attributes["model"]?.stringValue, let version = event.attributes["version"]?.intValue
            else { continue }
            let commit = (try? ModelVersions(registry: registry).get(model, Int(version)))?["commit"]?.stringValue
            if let config = try? resources.config(model: model, commit: commit).0, config.deploy.onApproval {
                deploy.append((model, Int(version)))
            }
        }
        return deploy
    }
}
