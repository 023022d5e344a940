import Foundation

/// The agent pattern — connect, send one `agent data` frame, read the reply to end of stream,
/// close — with a reply that proves both directions arrived unchanged.
///
/// ``FaultyZabbixServer`` answers a request with a frame carrying the length and CRC-32 of the
/// request bytes it received (the same reply `zbxsrv check` in Benchmarks/src gives), so a client
/// that compares the reply with ``reply(to:)`` of what it sent detects a changed, lost or added
/// byte in either direction.
public enum AgentExchange {
    /// A one-value upload as zabbix_agentd 6.0 sends it (about 330 bytes): agent `agent` with its
    /// own session, the value id growing with `sequence`.
    public static func request(agent: Int, sequence: Int) -> [UInt8] {
        let clock = Int(Date().timeIntervalSince1970)
        let session = "6e7bd1bd1a3e9c4b2d0f5a8c" + String(format: "%08x", agent)
        let host = String(format: "fault-agent-%04d.example.net", agent)
        let json =
            "{\"request\":\"agent data\",\"session\":\"\(session)\","
            + "\"data\":[{\"host\":\"\(host)\",\"key\":\"system.cpu.load[all,avg1]\","
            + "\"value\":\"0.\(String(format: "%06d", sequence % 1_000_000))\",\"id\":\(sequence + 1),\"clock\":\(clock),\"ns\":123456789}],"
            + "\"clock\":\(clock),\"ns\":223456789,\"host\":\"\(host)\",\"version\":\"6.0.25\",\"variant\":1}"
        return ZabbixFrames.plain(json)
    }

    /// The reply to a request whose bytes, as received, were `request`.
    public static func reply(to request: [UInt8]) -> [UInt8] {
        var checksum = StreamChecksum()
        request.withUnsafeBytes { checksum.update($0) }
        let json =
            "{\"response\":\"success\",\"info\":\"processed: 1; failed: 0; total: 1\","
            + "\"check\":\"\(request.count):\(String(format: "%08x", UInt32(truncatingIfNeeded: checksum.crc)))\"}"
        return ZabbixFrames.plain(json)
    }

    /// What one exchange ended with.
    public enum Outcome: Sendable, Equatable {
        /// The reply arrived, byte for byte the expected one.
        case identical
        /// A reply arrived that is not the expected one (`received` bytes of it).
        case mismatch(received: Int)
        /// Connect, send or receive failed.
        case failed(String)
    }

    /// One exchange against 127.0.0.1:`port`.
    public static func exchange(port: Int, request: [UInt8], timeout: Double = 10) -> Outcome {
        do {
            let socket = try BlockingSocket.connect(port: port)
            defer { socket.close() }
            socket.setReceiveTimeout(seconds: timeout)
            try socket.send(request)
            let reply = try socket.receiveAll()
            return reply == self.reply(to: request) ? .identical : .mismatch(received: reply.count)
        } catch {
            return .failed("\(error)")
        }
    }
}
