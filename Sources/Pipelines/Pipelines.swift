/// Pipelines: the shipped ASL definitions (`training`, `deployment`) and the task
/// resources they call: jobs, registry, endpoints, notifications, approvals.
///
/// Built so far: `JobRunner`, which runs a stage's SageMaker-style script in a bubblewrap
/// sandbox with SageMaker's container layout and the stage's limits; `GateVerdict`, the
/// gates' verdict on an evaluation report; and `ModelVersions`, model versions with
/// SageMaker Model Registry's statuses and their approval. The training and deployment
/// definitions and step caching come next.
package enum PipelinesModule {}
