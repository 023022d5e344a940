import Testing
import ZabbixProtocol

/// An item's `delay` text gives its base update interval in seconds, or says it is unknown.
@Suite struct ZabbixUpdateIntervalTests {
    @Test(
        arguments: [
            ("30", 30), ("30s", 30), ("5m", 300), ("1h", 3600), ("1d", 86_400), ("1w", 604_800), (" 1m ", 60),
            // Flexible and scheduling intervals: the base delay before the first `;`.
            ("50s;wd1-5,9:00-18:00", 50), ("1m;10s/1-5,09:00-18:00", 60), ("1h;md1;h9", 3600),
        ] as [(String, Int64)]
    )
    func theBaseDelayIsReadInSeconds(text: String, seconds: Int64) throws {
        #expect(try #require(ZabbixUpdateInterval(text)).baseSeconds == seconds)
    }

    @Test(arguments: [
        "{$DELAY}", "{$DELAY:\"ctx\"};wd1-5,9:00-18:00", "{#LLD_DELAY}",  // macros: not resolved by the tee
        "0", "0;md1;h9", "0s;wd1-5,9:00-18:00",  // trapper items, schedule-only items
        "", ";", "1y", "-5s", "1.5m", "s", "99999999999999999999", "9223372036854775807w",
    ])
    func anUnknownOrZeroIntervalHasNoBase(text: String) throws {
        #expect(try #require(ZabbixUpdateInterval(text)).baseSeconds == nil)
    }

    @Test func secondsAsOldAgentsAreToldThemAreKept() {
        #expect(ZabbixUpdateInterval(seconds: 60).baseSeconds == 60)
        #expect(ZabbixUpdateInterval(seconds: 0).baseSeconds == nil, "agents before 4.4 get 0 for flexible intervals")
        #expect(ActiveCheckDelay.interval("5m").interval?.baseSeconds == 300)
    }

    @Test func aTextLongerThanZabbixAllowsIsNotKept() {
        #expect(ZabbixUpdateInterval(String(repeating: "1", count: 1025)) == nil)
        #expect(ZabbixUpdateInterval("1m;" + String(repeating: "x", count: 1021)) != nil)
    }
}
