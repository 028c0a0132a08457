import Foundation
import Registry

/// One line git gives a post-receive hook: `OLD NEW REF`.
package struct RefUpdate: Sendable, Equatable {
    package var old: String
    package var new: String
    package var ref: String

    /// The branch name for `refs/heads/NAME`; nil for tags and other refs.
    package var branch: String? { ref.hasPrefix("refs/heads/") ? String(ref.dropFirst("refs/heads/".count)) : nil }
    /// Whether the ref was deleted (its new id is all zeros).
    package var isDeletion: Bool { ObjectID(hex: new).isZero }

    /// Parses git's stdin lines; malformed lines are skipped.
    package static func parse(_ text: String) -> [RefUpdate] {
        text.split(separator: "\n").compactMap { line in
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            guard fields.count == 3 else { return nil }
            return RefUpdate(old: String(fields[0]), new: String(fields[1]), ref: String(fields[2]))
        }
    }
}

/// The `post-receive` hook: installing it, and what it does when git runs it.
package enum PostReceiveHook {
    /// Marks a hook file as ours.
    static let marker = "# slipway post-receive hook"
    /// Where an earlier hook is kept; ours runs it first, with the same input.
    package static let previousHookName = "post-receive.before-slipway"

    /// Installs the hook in the repository at `repositoryPath` (bare or not). The hook
    /// remembers `home` (where it spools pushes) and `executable` (named in its messages).
    /// A hook already there that is not ours is kept as `post-receive.before-slipway` and
    /// still runs.
    package static func install(repositoryPath: String, executable: String, home: String) throws -> String {
        let gitDirectory = FileManager.default.fileExists(atPath: repositoryPath + "/.git")
            ? repositoryPath + "/.git" : repositoryPath
        _ = try GitRepository(path: repositoryPath)
        let hooks = gitDirectory + "/hooks"
        try FileManager.default.createDirectory(atPath: hooks, withIntermediateDirectories: true)
        for (what, value) in [("executable", executable), ("home", home)] where value.contains("\n") {
            throw BuildQueueError("the \(what) path '\(value)' contains a newline; hooks cannot name it")
        }
        let hook = hooks + "/post-receive"
        let existing = FileManager.default.contents(atPath: hook)
        if FileManager.default.fileExists(atPath: hook), existing.map({ !String(decoding: $0, as: UTF8.self).contains(marker) }) ?? true {
            let previous = hooks + "/" + previousHookName
            if FileManager.default.fileExists(atPath: previous) { try FileManager.default.removeItem(atPath: previous) }
            try FileManager.default.moveItem(atPath: hook, toPath: previous)
        }
        try Data(script(executable: executable, home: home).utf8).write(to: URL(fileURLWithPath: hook), options: .atomic)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: hook)
        return hook
    }

    static func quoted(_ text: String) -> String { "'" + text.replacingOccurrences(of: "'", with: "'\\''") + "'" }

    /// The hook: plain sh, so a push pays for no program start-up. It writes git's lines
    /// to a file in the spool (fsynced, renamed into place, folder fsynced) and returns;
    /// the agent turns spooled pushes into build requests, now or whenever it next runs.
    static func script(executable: String, home: String) -> String {
        """
        #!/bin/sh
        \(marker) (written by `slipway hook install`).
        # It spools this push for the Slipway agent and returns. It never fails the push; a
        # hook that was here before runs first, with the same input.
        slipway=\(quoted(executable))
        spool=\(quoted(home + "/" + Spool.folderName))
        input=$(cat)
        status=0
        previous="$(dirname "$0")/\(previousHookName)"
        if [ -x "$previous" ]; then
          printf '%s\\n' "$input" | "$previous" "$@"
          status=$?
        fi
        temporary="$spool/.tmp-$$"
        if mkdir -p "$spool" 2>/dev/null &&
           printf 'repository %s\\n%s\\n' "$PWD" "$input" > "$temporary" &&
           sync "$temporary" 2>/dev/null &&
           mv "$temporary" "$spool/$(date +%s%N)-$$.push"; then
          sync "$spool" 2>/dev/null || :
        else
          rm -f "$temporary" 2>/dev/null
          echo "slipway: could not spool this push into $spool; the push itself succeeded. Build it with: $slipway build MODEL" >&2
        fi
        exit $status

        """
    }

    /// What a spooled push does: one build request per updated branch that builds
    /// (`shouldBuild`), moving each branch's cursor; deleted branches and tags are
    /// ignored. Returns the requests queued to build.
    package static func handle(
        input: String, repository: WatchedRepository, queue: BuildQueue,
        shouldBuild: (_ branch: String, _ commit: String) -> Bool
    ) throws -> [BuildRequest] {
        var queued: [BuildRequest] = []
        let now = Date().timeIntervalSince1970
        for update in RefUpdate.parse(input) where !update.isDeletion {
            guard let branch = update.branch else { continue }
            let request = BuildRequest(repositoryName: repository.name, repositoryPath: repository.path, branch: branch,
                                       commit: update.new, requestedBy: "hook", requestedAt: now)
            if try queue.observe(request, old: update.old, builds: shouldBuild(branch, update.new)) == .queued {
                queued.append(request)
            }
        }
        return queued
    }
}
