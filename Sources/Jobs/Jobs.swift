/// The `Jobs` module: one stage job in SageMaker's layout, behind a back-end seam
/// (`JobBackend`); `LocalSandboxBackend` runs it in a bubblewrap `Sandbox` through the
/// `Home` process layer. Endpoint workers use the same `Sandbox`.
public enum JobsModule {}
