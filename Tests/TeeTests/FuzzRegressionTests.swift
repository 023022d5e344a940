import Tee
import Testing

/// Inputs on which a fuzz target (Fuzz/, see RELIABILITY.md) once crashed, replayed through the
/// same API. Each must now fail cleanly with a ConfigError instead of trapping.
struct FuzzRegressionTests {
    /// FuzzConfig, crash-ec090ccbc2abe520e59c3c5d0ce7e048b4b0f5da: `shutdown_timeout: 1777…77m`
    /// made `ConfigNode.duration` trap converting a Double above Int64.max nanoseconds to Int64
    /// ("Double value cannot be converted to Int64 because the result would be greater than
    /// Int64.max"), killing zabbix-tee at startup or on `check-config`.
    @Test func fuzzConfigCrashHugeDurationIsAnError() throws {
        let input: [UInt8] = Array(
            """
            bG9nX2xldmVsOiBkZWJ1ZwpzaHV0ZG93bl90aW1lb3V0OiAxNzc3Nzc3Nzc3Nzc3Nzc3Nzc3Nzc3Nzc3Nzc3Nzc3Nzc3Nzc3Nzc3Nzc3Nzc3Nzc3Nzc3Nzc3Nzc3Nzc3NzdtCmxpc3RlbmVyczoKICAtIHtuYW1lOiBhZ2VudHMsIGxpc3RlbjogWyJbOjoxXToxMDA1MSJdLCB0YXI6IFt6YWJiaXg6MTAwNTEsICIxdGFnOnlhbWwub3JnLDIwMDI6c3RyMC4wLjAuMToxMDA1MSJdLCBiYWxhbmNheF9jb25uZWN0aW9uczppQn0KICAtIG5hbWFuZG9tCg==
            """.utf8
        )
        let yaml = String(decoding: try #require(base64Decode(input)), as: UTF8.self)
        #expect(throws: ConfigError.self) { try ConfigLoader.parse(yaml: yaml, file: "fuzz.yaml") }
    }

    /// The same overflow through every unit and the bare-seconds form, on a valid configuration,
    /// and the largest durations that still fit.
    @Test(arguments: ["1e10h", "99999999999999999999m", "1e300s", "9223372036854775808ms", "1e19"])
    func durationAboveInt64NanosecondsIsRefused(_ duration: String) {
        #expect {
            try ConfigLoader.parse(yaml: Self.config(shutdownTimeout: duration), file: "fuzz.yaml")
        } throws: { error in
            (error as? ConfigError)?.message.contains("too long") == true
        }
    }

    @Test func longButRepresentableDurationsStillLoad() throws {
        let configuration = try ConfigLoader.parse(yaml: Self.config(shutdownTimeout: "2000000h"), file: "fuzz.yaml")
        #expect(configuration.shutdownTimeout == .seconds(2_000_000 * 3600))
    }

    private static func config(shutdownTimeout: String) -> String {
        """
        shutdown_timeout: \(shutdownTimeout)
        listeners:
          - name: agents
            listen: ["127.0.0.1:10051"]
            targets: ["127.0.0.1:10052"]
        """
    }
}

/// Minimal base64 decoder (the test target does not import Foundation for this alone).
private func base64Decode(_ text: [UInt8]) -> [UInt8]? {
    var table = [UInt8](repeating: 0xFF, count: 256)
    for (index, char) in "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8.enumerated() {
        table[Int(char)] = UInt8(index)
    }
    var output: [UInt8] = []
    var buffer: UInt32 = 0
    var bits = 0
    for char in text where char != UInt8(ascii: "=") && char != 0x0A {
        let value = table[Int(char)]
        if value == 0xFF { return nil }
        buffer = (buffer << 6) | UInt32(value)
        bits += 6
        if bits >= 8 {
            bits -= 8
            output.append(UInt8(truncatingIfNeeded: buffer >> UInt32(bits)))
        }
    }
    return output
}
