import Foundation
import Logging
import Serving
import ServiceLifecycle

/// The HTTP server as a service: `/ping` and the endpoints' invocations. It writes
/// `HOME/serving.json` once it listens (the CLI finds the agent there) and removes it
/// when it stops. A port it cannot bind fails the service, which stops the agent.
struct HTTPService: Service {
    let manager: EndpointManager
    let host: String
    let port: Int
    let home: String
    let logger: Logger

    func run() async throws {
        defer { ServingMarker.remove(home: home) }
        let (host, home, logger) = (self.host, self.home, self.logger)
        // Hummingbird's own log: only what is critical (it reports a closed channel at
        // error level on every shutdown); a server that cannot start is reported here.
        var serverLogger = logger
        serverLogger.logLevel = .critical
        let server = EndpointServer(manager: manager, host: host, port: port, logger: serverLogger) { port in
            do {
                try ServingMarker.write(home: home, host: host, port: port)
            } catch {
                logger.error("cannot write the serving marker: \(error)")
            }
            logger.info("serving endpoints", metadata: ["http.address": "http://\(host):\(port)"])
        }
        do {
            try await server.run()
        } catch is CancellationError {
        } catch {
            logger.critical("cannot serve endpoints on \(host):\(port): \(error); stopping")
            throw error
        }
    }
}
