/// Pipelines: the shipped ASL definitions (`training`, `deployment`) and the task
/// resources they call: jobs, registry, endpoints, notifications, approvals.
///
/// Built so far: `JobRunner`, which runs a stage's SageMaker-style script in a bubblewrap
/// sandbox with SageMaker's container layout and the stage's limits. The training and
/// deployment definitions, step caching, model versions and approval come next.
package enum PipelinesModule {}
