/// Serving: endpoints, Python worker pools, blue/green updates and autoscaling.
///
/// An endpoint's desired configuration lives in the registry (table `endpoints`, written
/// by the deployment pipeline); the agent's ``EndpointManager`` brings it about and writes
/// what it did to `endpoint-status`. Its update logic is a pure state machine
/// (``UpdateMachine``) that the manager drives; every wait goes through one injected clock.
/// Workers are Python processes (`Processes.withChild`), sandboxed like jobs (`Sandbox`),
/// that serve a model with the SageMaker inference toolkit's handlers (`slipway_worker.py`),
/// one request at a time over a framed pipe. ``EndpointServer`` is the HTTP front
/// (Hummingbird): `GET /ping`, `POST /endpoints/NAME/invocations`. Both are
/// swift-service-lifecycle services.
package enum ServingModule {}
