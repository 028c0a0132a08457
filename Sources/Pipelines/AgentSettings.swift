import ArtifactBuilder
import Foundation
import Registry

/// `HOME/agent.json`, the agent's own settings (all optional):
/// `{"host": "127.0.0.1", "port": 8080, "executions": 2, "notify": [{"webhook": URL}, {"command": CMD}, {"file": PATH}]}`.
/// Its `notify` targets get every event, whatever the model; `executions` is how many
/// state machine executions the agent lets run jobs at once (one waiting holds no slot).
package struct AgentSettings: Sendable, Equatable {
    package var host = "127.0.0.1"
    package var port = 8080
    package var executions = 2
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
        for key in fields.keys where !["host", "port", "executions", "notify"].contains(key) {
            throw SettingsError("\(path): unknown key '\(key)'; known: host, port, executions, notify")
        }
        if let executions = fields["executions"] {
            guard let value = executions.intValue, (1...64).contains(value) else {
                throw SettingsError("\(path): 'executions' must be a number from 1 to 64, not \(executions.serialized())")
            }
            settings.executions = Int(value)
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
