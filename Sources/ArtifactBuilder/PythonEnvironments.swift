import Foundation
import Home

/// A Python environment a stage runs in: a venv in `$SLIPWAY_HOME/envs/DIGEST`.
package struct PythonEnvironment: Sendable, Equatable {
    /// SHA-256 of the Python version and the requirements file.
    package var digest: String
    /// The venv folder; its interpreter is `path/bin/python`.
    package var path: String
    /// Whether this build made it (false: an earlier build's was reused).
    package var created: Bool

    package var python: String { path + "/bin/python" }
}

/// Builds and caches stage environments. Like a SageMaker framework container, a venv
/// sees the host interpreter's packages (`--system-site-packages`) and installs the
/// requirements file on top; environments are keyed by the digest of the Python version
/// and the requirements, so an unchanged requirements file never reinstalls.
///
/// venv and pip run in the `Sandbox` model code runs in (a requirements file can run
/// code: a `setup.py`, a build backend): pip gets the network, but writes only the new
/// environment's folder, and sees only the interpreter and the local wheel folders that
/// `PIP_FIND_LINKS` names.
package struct PythonEnvironments: Sendable {
    /// `$SLIPWAY_HOME/envs`.
    package let folder: String
    /// The base interpreter as found (absolute path; it may be a wrapper such as a pyenv shim).
    package let interpreter: String
    /// The program the interpreter runs as (`sys.executable`), which runs in the sandbox.
    package let executable: String
    /// `sys.version` of the interpreter.
    package let version: String
    /// The memory, processes and CPUs venv and pip may use together.
    package var limits = ResourceLimits(memoryBytes: 2 << 30)

    /// Finds `python` on PATH (default `python3`) and reads its version.
    package init(folder: String, python: String = "python3") async throws {
        guard let interpreter = Processes.which(python) else {
            throw BuildFailure("no '\(python)' on PATH", hint: "install Python 3 (apt-get install python3 python3-venv)")
        }
        // Only our own two lines run outside the sandbox, to find the real program.
        let probe: ProcessResult
        do {
            probe = try await Processes.run(ProcessSpec(interpreter, ["-c", "import sys; print(sys.version.split()[0]); print(sys.executable)"],
                                                        environment: ProcessSpec.inheritedEnvironment))
        } catch {
            throw BuildFailure(error.description)
        }
        let lines = probe.output.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
        guard probe.succeeded, lines.count >= 2, lines[1].hasPrefix("/") else {
            throw BuildFailure("'\(interpreter)' does not run: \(probe.output)")
        }
        self.folder = folder
        self.interpreter = interpreter
        self.version = lines[0]
        self.executable = lines[1]
    }

    /// The environment for a requirements file's bytes (nil: no requirements), built when
    /// missing. Output of venv and pip goes to `log`.
    package func environment(requirements: [UInt8]?, log: (String) -> Void) async throws -> PythonEnvironment {
        let digest = Digest.sha256(lines: ["python \(version) \(interpreter)", "system-site-packages",
                                           String(decoding: requirements ?? [], as: UTF8.self)])
        let path = folder + "/" + digest
        let marker = path + "/.slipway-complete"
        if FileManager.default.fileExists(atPath: marker) {
            return PythonEnvironment(digest: digest, path: path, created: false)
        }
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let lock = try await FileLock.waiting(path: folder + "/.lock-" + digest)
        defer { withExtendedLifetime(lock) {} }
        if FileManager.default.fileExists(atPath: marker) {  // built by another process while we waited
            return PythonEnvironment(digest: digest, path: path, created: false)
        }
        if FileManager.default.fileExists(atPath: path) {  // a half-built one from a killed build
            try FileManager.default.removeItem(atPath: path)
        }
        log("creating environment \(digest.prefix(12)) (Python \(version))")
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        let venv = try await run(executable, ["-m", "venv", "--system-site-packages", path], writing: path, network: false)
        log(venv.output)
        guard venv.succeeded else {
            throw BuildFailure("creating the Python environment failed: \(venv.output.suffix(500))", hint: "install python3-venv")
        }
        if let requirements, !requirements.allSatisfy({ $0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 }) {
            let file = path + "/requirements.txt"
            try Data(requirements).write(to: URL(fileURLWithPath: file))
            let pip = try await run(path + "/bin/python", ["-m", "pip", "install", "--disable-pip-version-check", "--no-input", "-r", file],
                                    writing: path, network: true)
            log(pip.output)
            guard pip.succeeded else {
                try? FileManager.default.removeItem(atPath: path)
                throw BuildFailure("installing the requirements failed: \(pip.output.suffix(800))", hint: "check requirements.txt; `pip install -r requirements.txt` shows the same error")
            }
        }
        let freeze = try await run(path + "/bin/python", ["-m", "pip", "freeze", "--disable-pip-version-check"], writing: path, network: false)
        guard freeze.succeeded else {
            throw BuildFailure("listing the installed packages failed: \(freeze.output.suffix(500))", hint: "run `\(path)/bin/python -m pip freeze` to see why")
        }
        try Data(freeze.output.utf8).write(to: URL(fileURLWithPath: path + "/.slipway-freeze.txt"))
        _ = FileManager.default.createFile(atPath: marker, contents: Data(digest.utf8))
        return PythonEnvironment(digest: digest, path: path, created: true)
    }

    /// Runs venv or pip in the sandbox, to its end: the interpreter and the local wheel
    /// folders read-only, `environment` (the folder being built) writable, the network
    /// only when `network`, this process's `PIP_*` settings and nothing else of its environment.
    func run(_ executable: String, _ arguments: [String], writing environment: String, network: Bool) async throws -> ProcessResult {
        let inherited = ProcessSpec.inheritedEnvironment
        let wheels = (inherited["PIP_FIND_LINKS"] ?? "").split(whereSeparator: { $0 == " " || $0 == "\n" }).map(String.init)
            .filter { $0.hasPrefix("/") && FileManager.default.fileExists(atPath: $0) }
        var sandbox = Sandbox.isolated(reading: Sandbox.interpreterFolders(self.executable) + wheels, network: network)
        sandbox.mounts.append(.writable(environment, at: environment))
        sandbox.workingDirectory = "/tmp"
        sandbox.limits = limits
        var variables = inherited.filter { $0.key.hasPrefix("PIP_") }
        variables.merge(["PATH": environment + "/bin:/usr/local/bin:/usr/bin:/bin", "HOME": "/tmp", "TMPDIR": "/tmp", "LANG": "C.UTF-8"]) { $1 }
        do {
            return try await sandbox.run(executable, arguments, environment: variables, name: "pip-" + (environment as NSString).lastPathComponent.prefix(12))
                .process
        } catch {
            throw BuildFailure(error.description)
        }
    }
}

/// A build failure a person can act on.
package struct BuildFailure: Error, Sendable, CustomStringConvertible {
    package var message: String
    package var hint: String?

    package init(_ message: String, hint: String? = nil) {
        self.message = message
        self.hint = hint
    }

    package var description: String { message + (hint.map { "; \($0)" } ?? "") }
}
