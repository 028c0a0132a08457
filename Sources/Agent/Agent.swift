/// The `Agent` module: the daemon as a swift-service-lifecycle `ServiceGroup`.
public enum AgentModule {}
