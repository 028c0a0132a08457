/// Pipelines: the shipped ASL definitions (`training`, `deployment`) and the task
/// resources they call: jobs, registry, endpoints, notifications, approvals.
///
/// Stage jobs run through the `Jobs` module's back-end (`TrainingResources.jobs`) behind
/// the step cache; `GateVerdict` is the gates' verdict on an evaluation report, and
/// `ModelVersions` holds model versions with SageMaker Model Registry's statuses and their
/// approval.
package enum PipelinesModule {}
