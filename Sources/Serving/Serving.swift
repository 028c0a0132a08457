/// Serving: endpoints, Python worker pools, blue/green updates and autoscaling.
///
/// Not built yet (issue "Endpoints").
package enum ServingModule {}
