import Foundation
import TestSupport
import Testing

/// Acceptance (issue 18, status page): the real tee with real Zabbix traffic through it; its
/// status page, loaded in a real browser (headless Chromium), shows what `/metrics` says; and it
/// stays one readable table with 50 listeners (screenshots in `.build/test-output/status-page/`,
/// or `$ZABBIX_TEE_TEST_OUTPUT/status-page/`, for a person to look at).
@Suite(
    "status page in a browser",
    .tags(.integration),
    .tier(.integration),
    .timeLimit(.minutes(3)),
    .serialized,
    .enabled(if: HeadlessChromium.isAvailable, "needs Debian's chromium (scripts/install-test-deps.sh); skipped")
)
struct StatusPageBrowserTests {
    /// Where the screenshots go.
    static let outputDirectory: String = {
        let base =
            ProcessInfo.processInfo.environment["ZABBIX_TEE_TEST_OUTPUT"]
            ?? URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent(".build/test-output").path
        let directory = base + "/status-page"
        try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        return directory
    }()

    @Test func theBrowserShowsWhatMetricsSaysAfterRealTraffic() async throws {
        let riemann = try await RiemannTestServer.start()
        let proxy = try await ZabbixProxy.start()
        let agent = try await ZabbixAgentd.start()
        let agentsPort = try LoopbackPort.free()
        let passivePort = try LoopbackPort.free()
        let oddPort = try LoopbackPort.free()
        let deadPort = try LoopbackPort.free()
        let adminPort = try LoopbackPort.free()
        // A name with markup and quotes: the page must show it as text.
        let oddName = #"<b>odd</b> & "quoted""#
        let configuration = """
            listeners:
            \(TeeProcess.listener(name: "agents", port: agentsPort, targets: [proxy.port]))
            \(TeeProcess.listener(name: "passive", port: passivePort, targets: [agent.port]))
              - name: '\(oddName)'
                listen: ["127.0.0.1:\(oddPort)"]
                targets: ["127.0.0.1:\(deadPort)"]
                connect_timeout: 1s
            riemann:
              servers: ["127.0.0.1:\(riemann.port)"]
              batch: { max_events: 10, max_delay: 10ms }
            admin:
              listen: "127.0.0.1:\(adminPort)"
            """
        let tee = try await TeeProcess.start(
            configuration: configuration,
            ports: [agentsPort, passivePort, oddPort, adminPort]
        )
        try await tee.whileRunning(thenStopping: [agent, proxy], riemann) {
            // Traffic: three passive checks of the real agent, a zabbix_sender batch to the real
            // proxy (which, with no server behind it, may refuse the values), and a client on the
            // listener whose only target is down (its health shows `down`; the client is closed).
            for key in [ZabbixTestItems.intKey, ZabbixTestItems.textKey, "no.such.key"] {
                _ = try await ZabbixGet.get(port: passivePort, key: key)
            }
            _ = try await ZabbixSender.send(
                port: agentsPort,
                values: (0..<5).map { ZabbixSender.Value(host: "status-host", key: "s.k\($0)", value: "\($0)") }
            )
            let unanswered = try await TestThreads.start { () throws -> [UInt8] in
                let socket = try BlockingSocket.connect(port: oddPort)
                defer { socket.close() }
                socket.setReceiveTimeout(seconds: 10)
                return try socket.receiveAll()
            }.value
            #expect(unanswered.isEmpty)
            try await riemann.waitUntil(timeout: .seconds(20)) { $0.receivedEvents.count >= 3 }
            try await waitUntil("the connections closed and the events were acknowledged", timeout: .seconds(20)) {
                let metrics = try MetricsScrape.get(port: adminPort)
                return metrics.value("zabbix_tee_connections_active", [("listener", "agents")]) == 0
                    && metrics.value("zabbix_tee_connections_active", [("listener", oddName)]) == 0
                    && metrics.value("zabbix_tee_connections_active", [("listener", "passive")]) == 0
                    && metrics.value("zabbix_tee_riemann_events_acked_total") >= 3
            }

            let url = "http://127.0.0.1:\(adminPort)/"
            _ = try await HeadlessChromium.dumpDOM(url)  // the first view starts the rates
            // Rates need views at least RateTracker.minimumInterval (1 s) apart: a fast browser start
            // would otherwise show "rates from the next refresh on". Time is the subject here, not
            // a stand-in for synchronisation.
            try await Task.sleep(until: ContinuousClock.now + .seconds(1), clock: .continuous)
            let before = try MetricsScrape.get(port: adminPort)
            let dom = try await HeadlessChromium.dumpDOM(url)
            let after = try MetricsScrape.get(port: adminPort)
            let page = StatusPageCells(html: dom)

            // Every figure the browser shows that did not move between the two scrapes is the
            // /metrics value; the ones that moved lie between them.
            var compared = 0
            for cell in page.cells where !cell.series.hasPrefix("process_") {
                let shown = try #require(Double(cell.value), "\(cell)")
                guard let low = Self.value(cell.series, in: before), let high = Self.value(cell.series, in: after)
                else {
                    Issue.record("\(cell.series) is on the page but not in /metrics")
                    continue
                }
                if low == high {
                    #expect(shown == low, "\(cell.series)")
                    compared += 1
                } else {
                    #expect(shown >= min(low, high) && shown <= max(low, high), "\(cell.series)")
                }
            }
            #expect(compared > 30, "only \(compared) stable figures compared")
            // What a person reads, for the figures this test's traffic set.
            let agents = #"{listener="agents"}"#
            #expect(page.cells("zabbix_tee_connections_active" + agents).map(\.shown) == ["0"])
            #expect(
                page.cells("zabbix_tee_connections_total" + agents).map(\.shown)
                    == [Self.integer(after.value("zabbix_tee_connections_total", [("listener", "agents")]))]
            )
            #expect(
                page.cells(#"zabbix_tee_target_healthy{listener="agents",target="127.0.0.1:\#(proxy.port)"}"#).map(
                    \.shown
                ) == ["up"]
            )
            let odd = #"{listener="<b>odd</b> & \"quoted\"",target="127.0.0.1:\#(deadPort)"}"#
            #expect(page.cells("zabbix_tee_target_healthy" + odd).map(\.shown) == ["down"])
            #expect(
                page.cells("sum(zabbix_tee_item_values_total)").map(\.shown) == [
                    Self.integer(after.value("zabbix_tee_item_values_total"))
                ]
            )
            #expect(after.value("zabbix_tee_item_values_total") >= 3)
            // The odd name is text in the DOM, not markup; rates are shown from the second view on.
            #expect(dom.contains("&lt;b&gt;odd&lt;/b&gt; &amp; \"quoted\""))
            #expect(!dom.contains("<b>odd</b>"))
            #expect(dom.contains("rates over the last"))

            try await HeadlessChromium.screenshot(
                url + "?refresh=0",
                to: Self.outputDirectory + "/status-page.png",
                width: 1400,
                height: 1500
            )
        }
    }

    @Test func fiftyListenersStayOneCompactTable() async throws {
        let ports = try (0..<51).map { _ in try LoopbackPort.free() }
        let adminPort = ports[50]
        let deadPort = try LoopbackPort.free()
        let echo = try EchoTarget()
        defer { echo.stop() }
        // Every listener fails over from a dead target to the echo target (never to another
        // listener of the tee: that would relay in a loop).
        let listeners = (0..<50).map { index in
            TeeProcess.listener(
                name: "site-\(index < 10 ? "0" : "")\(index)",
                port: ports[index],
                targets: [deadPort, echo.port]
            )
        }
        let configuration = """
            listeners:
            \(listeners.joined(separator: "\n"))
            admin:
              listen: "127.0.0.1:\(adminPort)"
            """
        let tee = try await TeeProcess.start(configuration: configuration, ports: ports)
        do {
            let url = "http://127.0.0.1:\(adminPort)/?refresh=0"
            let dom = try await HeadlessChromium.dumpDOM(url)
            let rows = try #require(
                dom.split(separator: "<table class=\"listeners\">").dropFirst().first?.split(separator: "</table>")
                    .first
            )
            #expect(rows.components(separatedBy: "<tr>").count - 1 == 51)  // a header row and 50 listeners
            let page = StatusPageCells(html: dom)
            #expect(page.cells.filter { $0.series.hasPrefix("zabbix_tee_connections_active{") }.count == 50)
            try await HeadlessChromium.screenshot(
                url,
                to: Self.outputDirectory + "/status-page-50-listeners.png",
                width: 1400,
                height: 2300
            )
        } catch {
            _ = try? await tee.stop()
            throw error
        }
        #expect(try await tee.stop() == 0)
    }

    /// The value of a page cell's series in a scrape: one sample, or `sum(name)` over a family.
    static func value(_ series: String, in metrics: MetricsScrape) -> Double? {
        guard series.hasPrefix("sum(") else { return metrics.samples[series] }
        let name = String(series.dropFirst(4).dropLast())
        let samples = metrics.samples.filter { $0.key == name || $0.key.hasPrefix(name + "{") }
        return samples.isEmpty ? nil : samples.values.reduce(0, +)
    }

    /// A whole number as the page writes it (thin spaces between thousands above 9999).
    static func integer(_ value: Double) -> String {
        let digits = String(Int64(value))
        guard digits.count > 4 else { return digits }
        var result = ""
        for (index, digit) in digits.enumerated() {
            if index > 0, (digits.count - index) % 3 == 0 { result += "\u{202F}" }
            result.append(digit)
        }
        return result
    }
}
