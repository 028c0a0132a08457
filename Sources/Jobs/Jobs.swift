/// The `Jobs` module: one stage job in SageMaker's layout, behind a back-end seam
/// (`JobBackend`); `LocalSandboxBackend` runs it in `Home`'s bubblewrap `Sandbox`, under
/// a control group's limits. Endpoint workers, build steps and pip use the same `Sandbox`.
public enum JobsModule {}
