import Foundation
import NIOCore
import TestSupport
import Testing
import ZabbixProtocol

/// Side-pipeline throughput (JSON parse + message decode + item values). Meaningful only in
/// release builds: `ZBX_PERF=1 swift test -c release --filter ThroughputTests`.
/// CPU seconds used by this process (the machine is shared, wall time is noisy).
func processCPUSeconds() -> Double {
    var spec = timespec()
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &spec)
    return Double(spec.tv_sec) + Double(spec.tv_nsec) / 1e9
}

@Suite(.tags(.load), .tier(.load), .serialized, .enabled(if: ProcessInfo.processInfo.environment["ZBX_PERF"] != nil))
struct ThroughputTests {
    static func proxyData(rows: Int) -> ByteBuffer {
        var text =
            #"{"request":"proxy data","host":"tee-lab-proxy","session":"e020992624c1bd4010a0d59805f072aa","version":"6.0.14","history data":["#
        for index in 0..<rows {
            if index > 0 { text += "," }
            text +=
                #"{"id":\#(index + 1),"itemid":\#(23000 + index % 5000),"clock":1795236260,"ns":\#(index * 7919 % 1_000_000_000),"value":"\#(Double(index) / 7)"}"#
        }
        text += #"],"clock":1795236264,"ns":71407569}"#
        return ByteBuffer(string: text)
    }

    @Test func proxyDataValuesPerSecond() throws {
        let payload = Self.proxyData(rows: 10_000)
        var conversation = ZabbixConversation()
        var values = 0
        let start = ContinuousClock.now
        let cpuStart = processCPUSeconds()
        for _ in 0..<50 {
            values += try conversation.decode(payload, from: .client).itemValues.count
        }
        let elapsed = ContinuousClock.now - start
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        let cpu = processCPUSeconds() - cpuStart
        print(
            "proxy data: \(values) values in \(seconds) s wall, \(cpu) s CPU = \(Int(Double(values) / cpu)) values/s per CPU second, \(Double(payload.readableBytes * 50) / cpu / 1e6) MB/s"
        )
        #expect(values == 500_000)
    }

    @Test func frameDecoderBytesPerSecond() {
        var stream: [UInt8] = []
        for _ in 0..<1000 { stream += plainFrame(Array(repeating: 0x41, count: 1000)) }
        let buffer = ByteBuffer(bytes: stream)
        var frames = 0
        let start = ContinuousClock.now
        for _ in 0..<200 {
            var decoder = ZabbixFrameDecoder()
            decoder.feed(buffer) { if case .frame = $0 { frames += 1 } }
        }
        let elapsed = ContinuousClock.now - start
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        print("frame decoder: \(frames) frames, \(Double(stream.count * 200) / seconds / 1e6) MB/s")
        #expect(frames == 200_000)
    }
}
