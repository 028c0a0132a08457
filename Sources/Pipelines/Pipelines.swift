/// Pipelines: the shipped ASL definitions (`training`, `deployment`) and the task
/// resources they call: jobs, registry, endpoints, notifications, approvals.
///
/// Not built yet (issues "The training pipeline" and "Endpoints").
package enum PipelinesModule {}
