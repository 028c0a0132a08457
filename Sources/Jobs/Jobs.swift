/// The `Jobs` module: one stage job in SageMaker's layout, behind a back-end seam; the
/// local back-end runs it in a bubblewrap sandbox.
public enum JobsModule {}
