/// GitWatcher: libgit2 access to model repositories (`GitRepository`), the post-receive
/// hook that spools pushes (`PostReceiveHook`, `Spool`), the durable build queue with a
/// cursor per branch (`BuildQueue`), registered repositories and mirrors
/// (`WatchedRepository`), and the watcher that notices pushes the hook missed
/// (`RefWatcher`, woken by `ChangeMonitor`).
package enum GitWatcherModule {}
