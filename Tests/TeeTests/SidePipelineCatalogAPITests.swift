import NIOCore
import NIOPosix
import Tee
import TestSupport
import Testing

/// The side pipeline with `catalog.zabbix_api` when the API is unreachable: values never wait
/// for the API, only for `catalog.unresolved_wait`, and then fall back as configured.
@Suite(.tags(.integration), .tier(.integration), .timeLimit(.minutes(1)))
struct SidePipelineCatalogAPITests {
    static func api(port: Int, timeout: Duration) -> CatalogAPIConfiguration {
        var api = CatalogAPIConfiguration(
            endpoint: .init(host: "127.0.0.1", port: port, path: "/api_jsonrpc.php"),
            token: .init("secret"),
            tokenSource: .environment("UNUSED")
        )
        api.timeout = timeout
        return api
    }

    @Test func anAPIThatNeverAnswersDelaysValuesNoLongerThanTheirWaitAndFallsBack() async throws {
        let blackHole = try BlackHoleListener()
        defer { blackHole.close() }
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        // The API's timeout (an hour) is far beyond the wait (200 ms): the values cannot be
        // waiting for the API.
        var harness = SidePipelineTests.Harness(apiEventLoop: group.next()) {
            $0.unresolvedWait = .milliseconds(200)
            $0.zabbixAPI = Self.api(port: blackHole.port, timeout: .seconds(3600))
        }
        #expect(harness.pipeline.looksUpCatalogAPI)
        try harness.connection(SidePipelineTests.agent2Data())
        let values = await harness.values(count: 2)
        #expect(values.map(\.value.key) == ["itemid:1001", "itemid:1004"])
        await harness.pipeline.shutdown()
        #expect(!harness.pipeline.looksUpCatalogAPI, "stopped with the pipeline")
        #expect(harness.pipeline.statistics.unresolvedEmittedCount == 2)
        try await group.shutdownGracefully()
    }

    @Test func aRefusedConnectionIsCountedAsAnErrorAndTheBreakerOpens() async throws {
        let port = try LoopbackPort.free()  // nothing listens
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        var harness = SidePipelineTests.Harness(apiEventLoop: group.next()) {
            $0.unresolvedWait = .seconds(3600)
            var api = Self.api(port: port, timeout: .seconds(2))
            api.breakerFailures = 1
            api.breakerOpen = .seconds(3600)
            $0.zabbixAPI = api
        }
        try harness.connection(SidePipelineTests.agent2Data())
        let statistics = harness.pipeline.catalogAPIStatistics
        #expect(await eventually(timeout: 10) { statistics.circuitOpen })
        #expect(
            statistics.requests.first { $0.outcome == "error" }?.count == 1,
            "one refused connection, then no request"
        )
        #expect(harness.pipeline.catalog.pendingCount == 2, "the values still wait (their own deadline)")
        await harness.pipeline.shutdown()
        #expect(harness.pipeline.statistics.unresolvedEmittedCount == 2, "settled at shutdown")
        try await group.shutdownGracefully()
    }
}
