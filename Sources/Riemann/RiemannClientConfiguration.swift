import NIOCore

/// A Riemann server address.
public struct RiemannServerAddress: Sendable, Hashable, CustomStringConvertible {
    public var host: String
    public var port: Int

    /// - Parameters:
    ///   - host: host name or IP address.
    ///   - port: TCP port; Riemann's default is 5555.
    public init(host: String, port: Int = 5555) {
        self.host = host
        self.port = port
    }

    public var description: String { "\(self.host):\(self.port)" }
}

/// Settings of a ``RiemannClient``. Every property has a documented default.
public struct RiemannClientConfiguration: Sendable {
    /// Servers in order of preference. The client connects to the first; when a connection
    /// attempt fails or an established connection is lost, it moves on to the next (wrapping
    /// around). Must not be empty.
    public var servers: [RiemannServerAddress]

    /// Maximum events per `Msg`. Default 500.
    public var maximumBatchEvents: Int = 500
    /// Maximum time an event waits for a batch to fill before a partial batch is sent. Default 200 ms.
    public var maximumBatchDelay: TimeAmount = .milliseconds(200)

    /// Maximum events waiting to be sent (not counting those written and awaiting an ack).
    /// Default 100 000.
    public var queueCapacity: Int = 100_000
    /// What a full queue drops. Default ``RiemannOverflowPolicy/dropOldest``.
    public var overflowPolicy: RiemannOverflowPolicy = .dropOldest

    /// Maximum messages written and not yet acknowledged on a connection. Default 8.
    public var maximumMessagesInFlight: Int = 8
    /// Time the oldest unacknowledged message may wait for its ack; then the connection is
    /// closed and every unacknowledged message is queued again. Default 5 s.
    public var acknowledgementTimeout: TimeAmount = .seconds(5)
    /// How many times an event may be written without an ack (ack timeout or connection loss)
    /// before it is dropped as ``RiemannDropReason/deliveryAttemptsExhausted``. Default 10.
    public var maximumDeliveryAttempts: Int = 10

    /// TCP connect timeout. Default 5 s.
    public var connectTimeout: TimeAmount = .seconds(5)
    /// Reconnect backoff: full jitter between 0 and `min(maximum, minimum × 2^(failures−1))`.
    /// Defaults 100 ms and 10 s.
    public var reconnectBackoffMinimum: TimeAmount = .milliseconds(100)
    /// See ``reconnectBackoffMinimum``.
    public var reconnectBackoffMaximum: TimeAmount = .seconds(10)

    /// Largest reply frame accepted from the server. Default 1 MiB (acks are 6 bytes).
    public var maximumReplyFrameLength: Int = 1 << 20
    /// Minimum interval between two warnings about `ok=false` replies, and separately between two
    /// warnings about failed connects (the rest are logged at debug level and counted in the next
    /// warning). Default 10 s.
    public var rejectionLogInterval: TimeAmount = .seconds(10)

    public init(servers: [RiemannServerAddress]) {
        self.servers = servers
    }
}
