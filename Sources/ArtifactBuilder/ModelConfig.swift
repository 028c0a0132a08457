/// A model repository's `slipway.yaml` (schema version 1), decoded and validated.
///
///     version: 1
///     name: demand
///     requirements: requirements.txt
///     branches: [main]                 # default: the repository's default branch
///     data:
///       raw: {path: data/sales.csv}    # or {host: /srv/data/sales} outside the repository
///     stages:
///       preprocess: {script: preprocess.py, inputs: [raw], outputs: [train, test]}
///       train: {script: train.py, hyperparameters: {epochs: 50}, resources: {memory: 1GiB}}
///       evaluate: {script: evaluate.py}
///       serve: {script: serve.py}
///     gates:
///       - {metric: regression_metrics.mse.value, max: 2.5}
///     approval: manual
///     deploy: {endpoint: demand, workers: 1}
///     notify: [{file: notifications.log}]
///     build:
///       steps: [{name: unit tests, stage: train, run: python -m unittest}]
package struct ModelConfig: Sendable, Equatable {
    /// The schema versions this code reads.
    package static let supportedVersions = [1]

    package var version: Int
    /// The model's name: lowercase letters, digits, `-` and `_`, at most 63 characters.
    package var name: String
    package var description: String?
    /// The requirements file (a repository path), installed into each stage's environment.
    package var requirements: String?
    /// The branches whose pushes build; empty means the repository's default branch.
    package var branches: [String]
    /// Named data inputs, in name order.
    package var data: [DataInput]
    /// The stages, keyed by kind.
    package var stages: [StageKind: Stage]
    /// Metric thresholds an evaluation must pass.
    package var gates: [Gate]
    package var approval: Approval
    package var deploy: DeploySettings
    package var notify: [NotifyTarget]
    /// Commands run in a stage's environment at build time (a failure fails the build).
    package var buildSteps: [BuildStep]
    /// Whether a successful build starts the training pipeline (`build.train`, default true).
    package var trainAfterBuild: Bool = true
    /// A composite's members: the name its serve script uses → the endpoint it calls
    /// (`compose`). A composite has only a serve stage, is never trained, and deploys its
    /// build rather than a model version.
    package var compose: [String: String] = [:]
    /// The line of each path-valued key (`stages.train.script`), for later messages.
    package var lines: [String: Int] = [:]
}

/// The four stages of a model.
package enum StageKind: String, Sendable, CaseIterable, Comparable {
    case preprocess, train, evaluate, serve

    package static func < (a: StageKind, b: StageKind) -> Bool {
        allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)!
    }
}

/// A data input: a repository path or a host path outside the repository.
package struct DataInput: Sendable, Equatable {
    package enum Source: Sendable, Equatable {
        /// A file or folder inside the repository, at the build's commit.
        case repository(String)
        /// An absolute file or folder on this machine; its content digest is recorded.
        case host(String)
    }

    package var name: String
    package var source: Source
}

/// One stage: its script, what else of the repository it needs, its arguments and limits.
package struct Stage: Sendable, Equatable {
    package var kind: StageKind
    /// The entry point, a repository path.
    package var script: String
    /// Other repository paths (files or folders) the stage needs.
    package var include: [String]
    /// Command-line arguments for the script.
    package var arguments: [String]
    /// Training hyperparameters (SageMaker passes them as `--name value` and in
    /// `hyperparameters.json`).
    package var hyperparameters: [(String, String)]
    /// Data inputs (names from `data`) a processing stage reads.
    package var inputs: [String]
    /// Output names a processing stage writes (`/opt/ml/processing/<name>`).
    package var outputs: [String]
    package var resources: Resources
    /// Whether the job may use the network.
    package var network: Bool
    package var retry: RetryPolicy
    /// Whether the training pipeline may reuse this stage's earlier outputs (`cache`, default true).
    package var cache: Bool = true

    package static func == (a: Stage, b: Stage) -> Bool {
        a.kind == b.kind && a.script == b.script && a.include == b.include && a.arguments == b.arguments
            && a.hyperparameters.map(\.0) == b.hyperparameters.map(\.0) && a.hyperparameters.map(\.1) == b.hyperparameters.map(\.1)
            && a.inputs == b.inputs && a.outputs == b.outputs && a.resources == b.resources && a.network == b.network
            && a.retry == b.retry && a.cache == b.cache
    }
}

/// Limits enforced on a job; the parser keeps each within `ResourceBounds`.
package struct Resources: Sendable, Equatable {
    /// CPUs, finite, in (0, 1024].
    package var cpus: Double = 1
    /// The address-space limit, 1 MiB to 1 TiB.
    package var memoryBytes: Int64 = 2 << 30
    /// Seconds before the job is ended, at most 7 days.
    package var timeoutSeconds: Int = 30 * 60

    package init(cpus: Double = 1, memoryBytes: Int64 = 2 << 30, timeoutSeconds: Int = 30 * 60) {
        self.cpus = cpus
        self.memoryBytes = memoryBytes
        self.timeoutSeconds = timeoutSeconds
    }
}

/// How a failed job is retried (the training pipeline's Retry on that stage).
package struct RetryPolicy: Sendable, Equatable {
    /// Attempts after the first; 0 means no retry.
    package var attempts: Int = 0
    package var intervalSeconds: Int = 10
    package var backoffRate: Double = 2
}

/// A metric threshold: `metric` is a dotted path into `evaluation.json`.
package struct Gate: Sendable, Equatable, Codable {
    package var metric: String
    package var min: Double?
    package var max: Double?

    package init(metric: String, min: Double?, max: Double?) {
        self.metric = metric
        self.min = min
        self.max = max
    }
}

/// Who approves a model version that passed its gates.
package enum Approval: String, Sendable, Equatable, Codable {
    case manual, auto
}

/// How an approved version is deployed.
package struct DeploySettings: Sendable, Equatable {
    /// The endpoint's name (default: the model's name).
    package var endpoint: String?
    package var workers: Int = 1
    package var strategy: String = "all-at-once"
    package var minWorkers: Int = 1
    package var maxWorkers: Int = 4
    /// Autoscaling's aim: in-flight requests per worker (`target_in_flight`).
    package var targetInFlight: Double = 2
    /// Seconds after a scaling before workers are removed (`scale_in_cooldown`).
    package var scaleInCooldownSeconds: Int = 60
    /// The canary's share, or each linear step's (`step`, 0 < step < 1).
    package var step: Double = 0.1
    /// Seconds each share is watched for errors before the next move (`bake`).
    package var bakeSeconds: Int = 0
    /// The new variant's 5xx share during a bake that rolls the update back (`error_threshold`).
    package var errorThreshold: Double = 0.05
    /// Seconds new workers have to load the model and answer a ping (`health_timeout`).
    package var healthTimeoutSeconds: Int = 120
    /// How long the deployment pipeline polls before it records `TimedOut` (`timeout`).
    package var timeoutSeconds: Int = 600
    /// Whether approving a version deploys it (`on_approval`).
    package var onApproval = false
}

/// Where notifications go.
package enum NotifyTarget: Sendable, Equatable {
    /// Append a JSON line to a host file.
    case file(String)
    /// Run a shell command with the notification on standard input.
    case command(String)
    /// POST the notification as JSON.
    case webhook(String)
}

/// A build-time command run in a stage's environment.
package struct BuildStep: Sendable, Equatable {
    package var name: String
    package var stage: StageKind
    package var run: String
}
