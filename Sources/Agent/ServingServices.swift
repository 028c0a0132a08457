import Foundation
import Logging
import Serving
import ServiceLifecycle

/// The endpoint manager as a service: reconciles the endpoints until shutdown, then
/// drains every worker.
struct EndpointService: Service {
    let manager: EndpointManager

    func run() async throws {
        await cancelWhenGracefulShutdown { await manager.run() }
    }
}

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
        do {
            try await cancelWhenGracefulShutdown {
                try await EndpointServer(manager: manager, host: host, port: port).run { port in
                    do {
                        try ServingMarker.write(home: home, host: host, port: port)
                    } catch {
                        logger.error("cannot write the serving marker: \(error)")
                    }
                    logger.info("serving endpoints", metadata: ["http.address": "http://\(host):\(port)"])
                }
            }
        } catch is CancellationError {
        } catch {
            logger.critical("cannot serve endpoints on \(host):\(port): \(error); stopping")
            throw error
        }
    }
}
