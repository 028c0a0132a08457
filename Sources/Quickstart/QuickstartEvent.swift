/// What the quickstart is doing, and why: each step's event, in order. The CLI prints
/// them; tests assert on them.
package enum QuickstartEvent: Sendable, Equatable {
    /// The home every record goes to.
    case home(String)
    /// A bare repository exists already: nothing new is pushed to it.
    case repositoryExists(bare: String)
    /// Creating a bare repository with Slipway's hook, a clone of it, and pushing a fixture.
    case creatingRepository(bare: String, work: String)
    /// An agent already serves the home: the quickstart uses it.
    case agentAlreadyServing
    /// Starting `slipway agent` in the background on `port` (0: a free one).
    case startingAgent(port: Int)
    /// The agent serves endpoints at `address` (`host:port`).
    case serving(address: String)
    /// Waiting for a model's build and training.
    case waitingForModel(String)
    /// A model is built; its training runs.
    case built(model: String)
    /// A model's first version exists: its number, status and metrics (one line).
    case trained(model: String, version: Int, status: String, metrics: String)
    /// Approving a version that awaits approval, on the user's behalf.
    case approving(model: String, version: Int)
    /// A version was approved (what `slipway approve` prints).
    case approved(model: String, version: Int)
    /// Running the deployment pipeline of a model to its end.
    case deploying(model: String)
    /// A deployment ended: what `slipway deploy --wait` prints, line by line.
    case deployed(model: String, lines: [String])
    /// Asking the composite endpoint for a price with this request body.
    case askingForPrice(body: String)

    /// The sentence a person reads.
    package var message: String {
        switch self {
        case .home(let home):
            "Slipway's home is \(home) (every record in it is a plain file: try `ls \(home)/registry/tables`)"
        case .repositoryExists(let bare):
            "\(bare) exists already; pushing nothing new to it"
        case .creatingRepository(let bare, let work):
            "creating \(bare) with Slipway's post-receive hook, and a clone in \(work)"
        case .agentAlreadyServing:
            "an agent already serves this home; using it"
        case .startingAgent(let port):
            "starting the agent in the background: it builds each push, trains, deploys and serves on port \(port == 0 ? "(a free one)" : String(port))"
        case .serving(let address):
            "the agent serves endpoints on http://\(address)"
        case .waitingForModel(let model):
            "waiting for \(model): build, then training (preprocess, train, evaluate, gates)"
        case .built(let model):
            "\(model) is built; training it"
        case .trained(let model, let version, let status, let metrics):
            "\(model) version \(version) is \(status): \(metrics)"
        case .approving(let model, let version):
            "approving it for you; by hand: slipway approve \(model) \(version) --note 'metrics look right'"
        case .approved(let model, let version):
            "version \(version) of '\(model)' is Approved"
        case .deploying(let model):
            "deploying \(model) (the deployment pipeline: slipway deploy \(model) --wait)"
        case .deployed(_, let lines):
            lines.joined(separator: "\n")
        case .askingForPrice(let body):
            "asking for a price: slipway endpoints invoke price-optimiser --body '\(body)'"
        }
    }

    /// Whether the event is a command's output (`approved`, `deployed`) rather than a step:
    /// the CLI indents those under the step that produced them.
    package var isOutput: Bool {
        switch self {
        case .approved, .deployed: true
        default: false
        }
    }
}
