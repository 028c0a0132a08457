// swift-tools-version:6.1
import PackageDescription

let package = Package(
    name: "slipway",
    products: [
        .executable(name: "slipway", targets: ["slipway"]),
        .executable(name: "slipway-bench", targets: ["slipway-bench"]),
        .library(name: "Registry", targets: ["Registry"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        // One trait only: fewer packages to build, and no trait-order rebuilds (TOOLCHAIN.md).
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1", traits: ["FullFoundation"]),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/swiftlang/swift-subprocess", from: "1.0.2"),
        // FilePath and FileDescriptor, the types swift-subprocess takes (already one of its dependencies).
        .package(url: "https://github.com/apple/swift-system", from: "1.5.0"),
        // The HTTP client (webhooks, the HTTP task, the CLI's calls to the agent), and the NIO types it speaks.
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.3"),
    ],
    targets: [
        // JSON values with a strict parser and a canonical writer: the leaf every module shares.
        .target(name: "JSON"),
        // The home folder's layout, durable writes, locks, and the one process layer (swift-subprocess).
        .target(name: "Home", dependencies: [
            "JSON", .product(name: "Subprocess", package: "swift-subprocess"), .product(name: "SystemPackage", package: "swift-system"),
        ]),
        // The file-based JSON key-value store: Slipway's DynamoDB. Imports JSON, and Home for durable writes and locks.
        .target(name: "Registry", dependencies: ["JSON", "Home", .product(name: "Crypto", package: "swift-crypto")]),
        // libgit2 (Debian's libgit2-dev), imported as a system library.
        .systemLibrary(name: "CGit2", pkgConfig: "libgit2", providers: [.apt(["libgit2-dev"])]),
        // libgit2 access, the post-receive hook entry, the spool and the ref watcher.
        .target(name: "GitWatcher", dependencies: ["CGit2", "Registry", "Home"]),
        // slipway.yaml, stage artifacts and build records.
        .target(name: "ArtifactBuilder", dependencies: [
            "GitWatcher", "Registry", "Home", "Yams", .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        // The Amazon States Language engine. Imports only JSON and Home (its `slipway:command` runs a process).
        .target(name: "StatesLanguage", dependencies: ["JSON", "Home", .product(name: "Crypto", package: "swift-crypto")]),
        // The shipped ASL definitions and the task resources they call, with the HTTP transport on AsyncHTTPClient.
        .target(name: "Pipelines", dependencies: [
            "Registry", "GitWatcher", "ArtifactBuilder", "StatesLanguage", "Serving", "Jobs", "Home",
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOHTTP1", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "Logging", package: "swift-log"),
        ], resources: [.copy("Definitions")]),
        // One stage job in SageMaker's layout, behind a back-end seam (the local bubblewrap sandbox).
        .target(name: "Jobs", dependencies: ["Registry", "Home", "JSON"]),
        // Endpoints, Python worker pools, blue/green updates, autoscaling.
        .target(name: "Serving", dependencies: ["Registry", "Home", "Jobs", .product(name: "Hummingbird", package: "hummingbird"),
                                           .product(name: "HummingbirdCore", package: "hummingbird"),
                                           .product(name: "HTTPTypes", package: "swift-http-types"),
                                           // The connection guard sits in the server's NIO pipeline, beside the HTTP/1 decoder.
                                           .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOHTTP1", package: "swift-nio"),
                                           .product(name: "Logging", package: "swift-log"),
                                           .product(name: "ServiceLifecycle", package: "swift-service-lifecycle")],
                resources: [.copy("Python")]),
        // The daemon: a ServiceGroup of the build, execution, approval, endpoint and HTTP services.
        .target(name: "Agent", dependencies: [
            "JSON", "Registry", "GitWatcher", "ArtifactBuilder", "StatesLanguage", "Pipelines", "Serving", "Home", "Jobs",
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        // From nothing to a served price: pushes the fixtures, starts the agent, approves, deploys, asks for a price.
        .target(name: "Quickstart", dependencies: [
            "JSON", "Home", "Registry", "GitWatcher", "ArtifactBuilder", "StatesLanguage", "Pipelines", "Serving",
            .product(name: "Logging", package: "swift-log"),
        ]),
        // The CLI and the agent wiring: parse, call a library, print.
        .executableTarget(name: "slipway", dependencies: [
            "Registry", "GitWatcher", "ArtifactBuilder", "StatesLanguage", "Pipelines", "Serving", "Agent", "Home", "Quickstart",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Logging", package: "swift-log"), .product(name: "UnixSignals", package: "swift-service-lifecycle"),
        ]),
        // Benchmarks that print figures: `swift run -c release slipway-bench registry`.
        .executableTarget(name: "slipway-bench", dependencies: [
            "Registry", "ArtifactBuilder", "StatesLanguage", "Home",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        // Test support: LogLines, a Logger whose events tests read back.
        .target(name: "LogCapture", dependencies: [.product(name: "Logging", package: "swift-log")], path: "Tests/LogCapture"),
        .testTarget(name: "JSONTests", dependencies: ["JSON"]),
        // The process layer against real processes: groups, signals, timeouts, capped logs.
        .testTarget(name: "HomeTests", dependencies: ["Home"]),
        // Real jobs in the real bubblewrap sandbox, and a hostile model's escapes (Hostile/).
        .testTarget(name: "JobsTests", dependencies: ["Jobs", "ArtifactBuilder", "Home"], exclude: ["Hostile"]),
        .testTarget(name: "RegistryTests", dependencies: ["Registry", "Home"]),
        .testTarget(name: "GitWatcherTests", dependencies: ["GitWatcher"]),
        .testTarget(name: "ArtifactBuilderTests", dependencies: ["ArtifactBuilder", "Home", "LogCapture", .product(name: "Logging", package: "swift-log")]),
        .testTarget(name: "StatesLanguageTests", dependencies: ["StatesLanguage"]),
        // Includes the HTTP transport and webhooks against a real (Hummingbird) server on port 0.
        .testTarget(name: "PipelinesTests", dependencies: [
            "Pipelines", "ArtifactBuilder", "Jobs", "StatesLanguage", "Serving", "LogCapture", .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"), .product(name: "Logging", package: "swift-log"),
        ]),
        .testTarget(name: "AgentTests", dependencies: ["Agent", "ArtifactBuilder", "GitWatcher", "Home", "LogCapture", "Pipelines", "Registry", "Serving",
                                                   .product(name: "Logging", package: "swift-log")]),
        .testTarget(name: "ServingTests", dependencies: ["Serving", .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                                                  .product(name: "Logging", package: "swift-log")], exclude: ["Python"]),
        // The quickstart's steps against real git repositories and hooks, without the agent.
        .testTarget(name: "QuickstartTests", dependencies: ["Quickstart", "Pipelines", "Registry", "StatesLanguage", "Serving", .product(name: "Logging", package: "swift-log")]),
        // End-to-end tests that run the built `slipway` binary.
        .testTarget(name: "SlipwayCLITests", dependencies: ["slipway", "Registry"]),
    ]
)
