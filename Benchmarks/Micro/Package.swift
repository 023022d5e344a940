// swift-tools-version:6.2
import PackageDescription

// Micro-benchmarks of the side pipeline's stages (see Benchmarks/README.md, "Micro-benchmarks").
// A package of its own so that the main package and its CI build carry nothing of it:
//   cd Benchmarks/Micro && swift run -c release zabbix-tee-micro
let package = Package(
    name: "zabbix-tee-micro",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "zabbix-tee", path: "../.."),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
    ],
    targets: [
        // Counts malloc/calloc/realloc/posix_memalign/aligned_alloc calls of the whole process
        // (glibc: forwards to __libc_*). Linked only into the benchmark executable.
        .target(name: "CAllocationCounter"),
        .executableTarget(
            name: "zabbix-tee-micro",
            dependencies: [
                "CAllocationCounter",
                .product(name: "ZabbixTeeKit", package: "zabbix-tee"),
                .product(name: "NIOCore", package: "swift-nio"),
            ]
        ),
        // SwiftNIO's own floor for a relay, measured beside the tee (Benchmarks/run.sh, variant nio-floor).
        .executableTarget(
            name: "nio-floor",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),
        // The same relay on raw epoll, without SwiftNIO (variant epoll-floor).
        .target(name: "CEpoll"),
        .executableTarget(name: "epoll-floor", dependencies: ["CEpoll"]),
    ],
    swiftLanguageModes: [.v6]
)
