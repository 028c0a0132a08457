/// GitWatcher: libgit2 access to model repositories, the post-receive hook entry, the
/// durable spool of build requests and the ref watcher with cursors kept in the registry.
///
/// Not built yet (issue "Model repositories"); the module exists so the package reads as
/// the architecture in `ARCHITECTURE.md`.
package enum GitWatcherModule {}
