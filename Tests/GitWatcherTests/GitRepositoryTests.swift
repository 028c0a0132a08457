import Foundation
import Registry
import Testing
@testable import GitWatcher

/// libgit2 reads checked against the git CLI on a real repository.
@Suite struct GitRepositoryTests {
    let root: String

    init() throws {
        var template = Array((NSTemporaryDirectory() + "slipway-gitrepo-XXXXXX").utf8CString)
        root = String(cString: mkdtemp(&template)!)
        try sh("""
            git init -q -b main work && cd work
            mkdir -p lib/deep && printf 'print(1)\\n' > train.py && printf 'x' > lib/deep/a.txt
            printf '#!/bin/sh\\n' > run.sh && chmod +x run.sh && ln -s train.py link.py
            git add . && git commit -q -m 'first commit' -m 'with a body'
            printf 'print(2)\\n' > train.py && git commit -q -am 'second'
            git branch feature HEAD~1
            cd .. && git clone -q --bare work bare.git
            """)
    }

    @discardableResult
    func sh(_ script: String) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-ec", script]
        process.currentDirectoryURL = URL(fileURLWithPath: root)
        process.environment = ProcessInfo.processInfo.environment.merging([
            "GIT_AUTHOR_NAME": "Ada", "GIT_AUTHOR_EMAIL": "ada@example.com", "GIT_COMMITTER_NAME": "Ada",
            "GIT_COMMITTER_EMAIL": "ada@example.com", "GIT_AUTHOR_DATE": "2026-01-02T03:04:05Z",
        ]) { $1 }
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let output = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw GitError(operation: script, repository: root, message: "failed", code: -1) }
        return String(decoding: output, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    @Test(arguments: ["work", "bare.git"])
    func revisionsResolveLikeGitRevParse(repository: String) throws {
        let git = try GitRepository(path: root + "/" + repository)
        for revision in ["HEAD", "main", "feature", "main~1", "HEAD^"] {
            #expect(try git.resolveCommit(revision).hex == sh("git -C \(repository) rev-parse '\(revision)'"))
        }
        let short = try sh("git -C \(repository) rev-parse --short HEAD")
        #expect(try git.resolveCommit(short).hex == sh("git -C \(repository) rev-parse HEAD"))
        #expect(git.isBare == repository.hasSuffix(".git"))
    }

    @Test func branchesAndTheDefaultBranchMatchGit() throws {
        let git = try GitRepository(path: root + "/bare.git")
        let branches = try git.branches()
        #expect(branches.keys.sorted() == ["feature", "main"])
        #expect(branches["feature"]?.hex == (try sh("git -C bare.git rev-parse feature")))
        #expect(try git.defaultBranch() == "main")
        #expect(try git.effectiveDefaultBranch() == "main")
    }

    @Test func commitInfoMatchesGitLog() throws {
        let git = try GitRepository(path: root + "/work")
        let id = try git.resolveCommit("main~1")
        let info = try git.commitInfo(id)
        #expect(info.authorName == "Ada")
        #expect(info.authorEmail == "ada@example.com")
        #expect(info.summary == "first commit")
        #expect(info.message.contains("with a body"))
        #expect("\(info.time)" == (try sh("git -C work log -1 --format=%at main~1")))
    }

    @Test func treesAndBlobsMatchGitLsTreeAndShow() throws {
        let git = try GitRepository(path: root + "/bare.git")
        let head = try git.resolveCommit("main")
        let files = try git.files(at: head)
        let expected = try sh("git -C bare.git ls-tree -r main").split(separator: "\n").map { line -> (String, String, String) in
            let parts = line.split(separator: "\t")
            let meta = parts[0].split(separator: " ")
            return (String(parts[1]), String(meta[0]), String(meta[2]))
        }
        #expect(files.map(\.path).sorted() == expected.map(\.0).sorted())
        for (path, mode, blob) in expected {
            let file = try #require(files.first { $0.path == path })
            #expect(String(file.mode, radix: 8) == mode)
            #expect(file.blob.hex == blob)
        }
        #expect(try git.contents(of: "train.py", at: head) == Array("print(2)\n".utf8))
        #expect(try git.contents(of: "train.py", at: git.resolveCommit("feature")) == Array("print(1)\n".utf8))
        #expect(try git.contents(of: "missing.py", at: head) == nil)
        #expect(try git.file(at: "link.py", in: head)?.isSymlink == true)
        #expect(try git.file(at: "run.sh", in: head)?.isExecutable == true)
    }

    @Test func errorsNameTheRepositoryAndTheOperation() throws {
        let missing = #expect(throws: GitError.self) { try GitRepository(path: root + "/nope") }
        #expect(missing?.description.contains("open repository in '\(root)/nope'") == true)
        let git = try GitRepository(path: root + "/work")
        let unknown = #expect(throws: GitError.self) { try git.resolveCommit("no-such-branch") }
        #expect(unknown?.description.contains("resolve 'no-such-branch'") == true)
        #expect(unknown?.isNotFound == true)
    }
}

@Suite struct HookInputTests {
    @Test func refUpdatesParseAndClassify() {
        let zero = String(repeating: "0", count: 40), a = String(repeating: "a", count: 40), b = String(repeating: "b", count: 40)
        let updates = RefUpdate.parse("\(a) \(b) refs/heads/main\n\(a) \(zero) refs/heads/old\n\(zero) \(b) refs/tags/v1\ngarbage\n")
        #expect(updates.count == 3)
        #expect(updates[0].branch == "main" && !updates[0].isDeletion)
        #expect(updates[1].isDeletion)
        #expect(updates[2].branch == nil)
    }
}

@Suite struct HookScriptTests {
    @Test func oddExecutableAndHomePathsAreQuotedNotRun() throws {
        var template = Array((NSTemporaryDirectory() + "slipway-hook-XXXXXX").utf8CString)
        let root = String(cString: mkdtemp(&template)!)
        defer { try? FileManager.default.removeItem(atPath: root) }
        let canary = root + "/ran"
        let executable = "/opt/we\"ird 'dir $(touch \(canary))/slipway"
        let home = root + "/home with 'quotes'"
        try FileManager.default.createDirectory(atPath: home, withIntermediateDirectories: true)
        try Data("not a folder".utf8).write(to: URL(fileURLWithPath: home + "/spool"))  // spooling fails
        let hook = root + "/post-receive"
        try Data(PostReceiveHook.script(executable: executable, home: home).utf8).write(to: URL(fileURLWithPath: hook))
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = [hook]
        let input = Pipe(), errors = Pipe()
        process.standardInput = input
        process.standardError = errors
        try process.run()
        input.fileHandleForWriting.write(Data("a b refs/heads/main\n".utf8))
        try input.fileHandleForWriting.close()
        let message = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        #expect(message.contains("Build it with: \(executable) build MODEL"), "\(message)")
        #expect(!FileManager.default.fileExists(atPath: canary))
    }
}
