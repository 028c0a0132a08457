/// ArtifactBuilder: the `slipway.yaml` schema and its validation, immutable stage
/// artifacts (code snapshot + cached Python environment) and build records.
///
/// Not built yet (issue "Model repositories").
package enum ArtifactBuilderModule {}
