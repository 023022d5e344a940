// swift-tools-version:6.2
import PackageDescription

// Dependencies point one way:
//   zabbix-tee (executable) → Tee → Relay, ZabbixProtocol, Riemann, Admin
//   Admin (HTTP /, /metrics, /health, /ready) is a leaf: NIO and swift-log only. Tee's
//   metrics adapters (Sources/Tee/Metrics) read the other modules' statistics for it.
//   Relay, Riemann → LogThrottling (the one log throttle, shared so neither imports the other).
// Relay knows nothing of Zabbix or Riemann; ZabbixProtocol knows nothing of sockets.
let package = Package(
    name: "zabbix-tee",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "zabbix-tee", targets: ["zabbix-tee"]),
        // For Benchmarks/Micro (a package of its own): the libraries, not the daemon.
        .library(name: "ZabbixTeeKit", targets: ["Tee", "Relay", "ZabbixProtocol", "Riemann"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
    ],
    targets: [
        // System libraries (Debian: zlib1g-dev, libprotobuf-c-dev).
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        .systemLibrary(
            name: "CProtobufC",
            pkgConfig: "libprotobuf-c",
            providers: [.apt(["libprotobuf-c-dev"])]
        ),
        // protoc-c output for riemann.proto, committed; see Sources/CRiemannProto/regenerate.sh.
        .target(name: "CRiemannProto", dependencies: ["CProtobufC"], exclude: ["riemann.proto", "regenerate.sh"]),

        .target(
            name: "ZabbixProtocol",
            dependencies: [
                "CZlib",
                .product(name: "NIOCore", package: "swift-nio"),
            ]
        ),
        // One warning per interval instead of one per event, for every module that logs on behalf of peers.
        .target(
            name: "LogThrottling",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(
            name: "Riemann",
            dependencies: [
                "CRiemannProto", "LogThrottling",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // epoll, eventfd, accept4 and TCP options for the relay's event loop (Linux).
        .target(name: "CRelaySystem"),
        .target(
            name: "Relay",
            dependencies: [
                "CRelaySystem",
                "LogThrottling",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(
            name: "Admin",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(
            name: "Tee",
            dependencies: [
                "Relay", "ZabbixProtocol", "Riemann", "Admin", "LogThrottling",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),  // the Zabbix API client (catalog.zabbix_api)
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "Yams", package: "Yams"),
            ]
        ),
        .executableTarget(
            name: "zabbix-tee",
            dependencies: [
                "Tee", "Relay", "Admin", "Riemann", "ZabbixProtocol",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),

        // Helpers shared by the test targets: loopback peers, real Zabbix programs, byte checks.
        .target(
            name: "TestSupport",
            dependencies: [
                "Riemann", "CZlib",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Tests/TestSupport"
        ),
        // A relay state machine between simulated peers and kernel sockets, with the relay's
        // promises as oracles: shared by RelayTests' property tests and FuzzRelayStateMachine.
        .target(
            name: "RelaySimulation",
            dependencies: ["Relay", .product(name: "NIOCore", package: "swift-nio")],
            path: "Tests/RelaySimulation"
        ),
        .testTarget(
            name: "ZabbixProtocolTests",
            dependencies: ["ZabbixProtocol", "TestSupport"]
        ),
        .testTarget(
            name: "RiemannTests",
            dependencies: [
                "Riemann", "CRiemannProto", "LogThrottling", "TestSupport",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
            ]
        ),
        .testTarget(
            name: "RelayTests",
            dependencies: [
                "Relay", "RelaySimulation", "LogThrottling", "TestSupport",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),
        .testTarget(
            name: "AdminTests",
            dependencies: [
                "Admin", "TestSupport",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),
        .testTarget(
            name: "TeeTests",
            dependencies: [
                "Tee", "Admin", "Relay", "ZabbixProtocol", "Riemann", "TestSupport",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(
            name: "EndToEndTests",
            dependencies: [
                "Tee", "Relay", "TestSupport",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),

        // libFuzzer targets, one per parser; see RELIABILITY.md and scripts/fuzz.sh. Each exports
        // LLVMFuzzerTestOneInput; its @main starts libFuzzer's driver when built with
        // `-sanitize=fuzzer,address -DFUZZING` and replays files otherwise, so `swift build` and
        // `swift test` are unaffected. -parse-as-library: @main sits in a file not named main.swift.
        .target(name: "CLibFuzzer", path: "Fuzz/CLibFuzzer"),
        .target(name: "FuzzSupport", dependencies: ["CLibFuzzer"], path: "Fuzz/FuzzSupport"),
    ] + fuzzTargets,
    swiftLanguageModes: [.v6]
)

var fuzzTargets: [Target] {
    let fuzzers: [(name: String, dependencies: [Target.Dependency])] = [
        ("FuzzZabbixFrames", ["ZabbixProtocol", .product(name: "NIOCore", package: "swift-nio")]),
        ("FuzzZabbixMessages", ["ZabbixProtocol", .product(name: "NIOCore", package: "swift-nio")]),
        ("FuzzProxyConfig", ["ZabbixProtocol", .product(name: "NIOCore", package: "swift-nio")]),
        ("FuzzRiemannFrames", ["Riemann", .product(name: "NIOCore", package: "swift-nio")]),
        ("FuzzConfig", ["Tee"]),
        ("FuzzRelayStateMachine", ["Relay", "RelaySimulation"]),
    ]
    return fuzzers.map { fuzzer in
        .executableTarget(
            name: fuzzer.name,
            dependencies: ["FuzzSupport"] + fuzzer.dependencies,
            path: "Fuzz/\(fuzzer.name)",
            swiftSettings: [.unsafeFlags(["-parse-as-library"])]
        )
    }
}
