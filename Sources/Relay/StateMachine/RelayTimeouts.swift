import NIOCore

/// The deadlines a relayed connection lives by, one listener's settings.
///
/// Each bounds a state in which one peer could otherwise hold the connection (both of its
/// descriptors, a place under `max_connections`) for as long as it likes:
/// - ``connect``: one connect attempt to a target;
/// - ``firstByte``: a client that connected and never sent a byte (in every Zabbix conversation
///   the connecting side speaks first);
/// - ``idle``: no byte read or written in either direction;
/// - ``drain``: one socket is gone and the other has not taken what is queued for it and its end
///   of stream;
/// - ``clientFin``: the server finished (its end of stream passed on, nothing queued for the
///   client) and the client sends nothing and does not close (HAProxy's `timeout client-fin`);
/// - ``serverReply``: the client finished sending (its end of stream passed on) and waits for a
///   server that sends nothing.
///
/// All but ``connect`` and ``drain`` count from the last byte or end of stream read or written,
/// so a peer that is making progress is never cut.
///
/// The spans are in NIO's `TimeAmount`, the unit of the `NIODeadline`s the state machine and the
/// timer wheel compute with; ``RelayListenerConfiguration/timeouts`` converts the configured
/// `Duration`s once per settings snapshot.
public struct RelayTimeouts: Sendable, Hashable {
    public var connect: TimeAmount
    public var firstByte: TimeAmount
    public var idle: TimeAmount
    public var drain: TimeAmount
    public var clientFin: TimeAmount
    public var serverReply: TimeAmount

    public init(
        connect: TimeAmount = .seconds(5),
        firstByte: TimeAmount = .seconds(30),
        idle: TimeAmount = .seconds(900),
        drain: TimeAmount = .seconds(30),
        clientFin: TimeAmount = .seconds(10),
        serverReply: TimeAmount = .seconds(620)
    ) {
        self.connect = connect
        self.firstByte = firstByte
        self.idle = idle
        self.drain = drain
        self.clientFin = clientFin
        self.serverReply = serverReply
    }

    /// The deadline of a socket whose output was shut while its input is still open: the client
    /// is awaited for its FIN (``clientFin``), the server for its reply (``serverReply``).
    func awaitingEndOfStream(from side: RelaySide) -> (allowed: TimeAmount, reason: RelayTimeout) {
        side == .client ? (self.clientFin, .clientFin) : (self.serverReply, .serverReply)
    }
}

/// Why a relayed connection was closed by a deadline (connect timeouts move on to the next
/// target instead). The raw value is the `reason` label of `zabbix_tee_connections_timed_out_total`.
public enum RelayTimeout: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    case firstByte = "first_byte"
    case idle
    case drain
    case clientFin = "client_fin"
    case serverReply = "server_reply"

    public var description: String { self.rawValue }
}
