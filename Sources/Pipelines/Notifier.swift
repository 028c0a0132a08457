import ArtifactBuilder
import Foundation
import Home
import Logging
import Registry
import StatesLanguage

/// Tells `notify` targets what happened: a file gets the event as one JSON line, a command
/// gets it on standard input (and in `$SLIPWAY_NOTIFICATION`), a webhook gets it as an HTTP
/// POST of `application/json`, retried with growing waits until it answers 2xx. Every
/// delivery attempt is recorded in the registry table `notifications` (partition: the
/// event's id; sort key: target and attempt), so `slipway registry query notifications ID`
/// shows what was tried and what each target answered. A target that was not reached is
/// a warning on the injected logger, with the target and the error.
package struct Notifier: Sendable {
    /// The table of delivery attempts.
    package static let table = "notifications"
    package let registry: Registry
    /// Attempts per webhook (the first try included).
    package var attempts = 4
    /// The wait before the second attempt; each later wait doubles.
    package var firstRetryDelay: Double = 0.5
    /// How long a webhook may take to answer.
    package var requestTimeout: Double = 10
    /// Where webhooks are posted.
    package let transport: any HTTPTransport
    /// Where failed deliveries are reported.
    package let logger: Logger

    /// A notifier recording its attempts in `registry`, posting webhooks through
    /// `transport` (default: AsyncHTTPClient, `HTTPClientTransport`) and reporting failed
    /// deliveries to `logger`.
    package init(registry: Registry, transport: any HTTPTransport = HTTPClientTransport(), logger: Logger) {
        self.registry = registry
        self.transport = transport
        self.logger = logger
    }

    /// One delivery attempt's outcome.
    package struct Attempt: Sendable {
        package var target: String
        package var attempt: Int
        package var delivered: Bool
        package var detail: String
    }

    /// Builds the event (`type`, an `id`, the time, and `details`) and delivers it to every
    /// target; returns the attempts. Never throws: a target that fails is recorded and skipped.
    @discardableResult
    package func notify(_ type: String, details: [String: JSONValue], targets: [NotifyTarget]) async -> [Attempt] {
        guard !targets.isEmpty else { return [] }
        let id = UUID().uuidString.lowercased()
        var event = details
        event["event"] = .string(type)
        event["id"] = .string(id)
        event["time"] = .string(ISO8601DateFormatter().string(from: Date()))
        let body = JSONValue.object(event).serialized()
        var log: [Attempt] = []
        for (index, target) in targets.enumerated() {
            let attempts = await deliver(body, to: target)
            for attempt in attempts {
                var attempt = attempt
                attempt.target = "\(index): \(attempt.target)"
                log.append(attempt)
                let record: [String: JSONValue] = [
                    "event": .string(type), "target": .string(attempt.target), "attempt": .int(Int64(attempt.attempt)),
                    "outcome": .string(attempt.delivered ? "delivered" : "failed"), "detail": .string(attempt.detail),
                    "at": .double(Date().timeIntervalSince1970),
                ]
                do {
                    try registry.put(Self.table, ItemKey(id, String(format: "%02d-%02d", index, attempt.attempt)), record)
                } catch {
                    logger.warning("a notification attempt could not be recorded", metadata: [
                        "notification.id": "\(id)", "notification.target": "\(attempt.target)", "error.message": "\(error)",
                    ])
                }
            }
            if !attempts.isEmpty, let last = log.last, !last.delivered {  // this target's last attempt, its target numbered
                logger.warning("notification not delivered", metadata: [
                    "notification.event": "\(type)", "notification.id": "\(id)", "notification.target": "\(last.target)",
                    "notification.attempts": "\(attempts.count)", "error.message": "\(last.detail)",
                ])
            }
        }
        return log
    }

    private func deliver(_ body: String, to target: NotifyTarget) async -> [Attempt] {
        switch target {
        case .file(let path):
            let appended = Self.append(body + "\n", to: path)
            return [Attempt(target: "file \(path)", attempt: 1, delivered: appended == nil, detail: appended ?? "appended")]
        case .command(let command):
            let input = NSTemporaryDirectory() + "slipway-event-\(UUID().uuidString).json"
            defer { try? FileManager.default.removeItem(atPath: input) }
            do {
                try Data(body.utf8).write(to: URL(fileURLWithPath: input))
                let spec = ProcessSpec("/bin/sh", ["-c", command], environment: ProcessSpec.inheritedEnvironment.merging(["SLIPWAY_NOTIFICATION": body]) { $1 })
                let result = try await Processes.run(spec, input: input, timeout: .seconds(30))
                let detail = result.timedOut ? "timed out after 30 s" : "exit status \(result.status)"
                return [Attempt(target: "command \(command)", attempt: 1, delivered: result.succeeded, detail: detail)]
            } catch {
                return [Attempt(target: "command \(command)", attempt: 1, delivered: false, detail: "\(error)")]
            }
        case .webhook(let url):
            var attempts: [Attempt] = []
            var delay = firstRetryDelay
            for number in 1...max(1, self.attempts) {
                let (delivered, detail) = await post(body, to: url)
                attempts.append(Attempt(target: "webhook \(url)", attempt: number, delivered: delivered, detail: detail))
                if delivered || number == self.attempts { break }
                try? await Task.sleep(for: .seconds(delay))
                delay *= 2
            }
            return attempts
        }
    }

    private func post(_ body: String, to url: String) async -> (Bool, String) {
        guard URL(string: url) != nil else { return (false, "'\(url)' is not a URL") }
        do {
            let response = try await transport.send(method: "POST", url: url, headers: [("Content-Type", "application/json"), ("User-Agent", "slipway")],
                                                    body: Array(body.utf8), timeout: .seconds(requestTimeout))
            return ((200..<300).contains(response.status), "HTTP \(response.status)")
        } catch {
            return (false, "\(error.reason); \(error.hint)")
        }
    }

    /// Appends `text` to the file (created when missing); nil on success, else why not.
    static func append(_ text: String, to path: String) -> String? {
        let fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        guard fd >= 0 else { return "cannot open '\(path)': \(String(cString: strerror(errno)))" }
        defer { close(fd) }
        let bytes = Array(text.utf8)
        guard write(fd, bytes, bytes.count) == bytes.count else { return "cannot write '\(path)': \(String(cString: strerror(errno)))" }
        return nil
    }
}
