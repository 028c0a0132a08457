/// The `Home` module: what every part of Slipway shares below the registry — the home
/// folder's layout, durable writes, file locks, and the one process layer (on
/// swift-subprocess) that starts every child: jobs, workers, build steps, `tar`,
/// notification commands.
public enum HomeModule {}
