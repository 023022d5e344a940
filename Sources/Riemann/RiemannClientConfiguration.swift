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
    /// Maximum bytes of one frame on the wire (4-byte length and `Msg` body): batches are cut to
    /// it, and an event that alone would exceed it is dropped as
    /// ``RiemannDropReason/eventTooLarge``. Default 1 MiB: 500 ordinary events (about 200 bytes
    /// each) take a tenth of it, so for ordinary traffic ``maximumBatchEvents`` is what cuts; the
    /// largest event the default mapping makes is under 32 KiB. Riemann has no limit of its own
    /// worth relying on (its decoder accepts 2 GiB; a 140 MB message failed, riemann#597).
    public var maximumBatchBytes: Int = 1 << 20
    /// Maximum time an event waits for a batch to fill before a partial batch is sent. Default 200 ms.
    public var maximumBatchDelay: Duration = .milliseconds(200)

    /// Maximum events waiting to be sent (not counting those written and awaiting an ack).
    /// Default 100 000.
    public var queueCapacity: Int = 100_000
    /// Maximum bytes of the events waiting to be sent (their encoded size, see
    /// ``RiemannEvent/encodedSizeInMessage``); the overflow policy applies on either bound.
    /// Default 64 MiB: about three times what 100 000 ordinary events take, so the event bound
    /// is the one ordinary traffic meets, while events made large by their input (long keys and
    /// texts) cannot hold more than this. Memory for events beyond the queue is bounded too:
    /// at most ``maximumMessagesInFlight`` × ``maximumBatchBytes`` await their acks.
    public var queueMaximumBytes: Int = 64 << 20
    /// What a full queue drops. Default ``RiemannOverflowPolicy/dropOldest``.
    public var overflowPolicy: RiemannOverflowPolicy = .dropOldest

    /// Maximum messages written and not yet acknowledged on a connection. Default 8.
    public var maximumMessagesInFlight: Int = 8
    /// Time the oldest unacknowledged message may wait for its ack; then the connection is
    /// closed and every unacknowledged message is queued again. Default 5 s.
    public var acknowledgementTimeout: Duration = .seconds(5)
    /// How many times an event may be written without an ack (ack timeout or connection loss)
    /// before it is dropped as ``RiemannDropReason/deliveryAttemptsExhausted``. Default 10.
    public var maximumDeliveryAttempts: Int = 10

    /// TCP connect timeout. Default 5 s.
    public var connectTimeout: Duration = .seconds(5)
    /// Reconnect backoff: full jitter between 0 and `min(maximum, minimum × 2^(failures−1))`.
    /// Defaults 100 ms and 10 s.
    public var reconnectBackoffMinimum: Duration = .milliseconds(100)
    /// See ``reconnectBackoffMinimum``.
    public var reconnectBackoffMaximum: Duration = .seconds(10)

    /// Largest reply frame accepted from the server. Default 1 MiB (acks are 6 bytes).
    public var maximumReplyFrameLength: Int = 1 << 20
    /// Minimum interval between two warnings about `ok=false` replies, and separately between two
    /// warnings about failed connects (the rest are logged at debug level and counted in the next
    /// warning). Default 10 s.
    public var rejectionLogInterval: Duration = .seconds(10)

    public init(servers: [RiemannServerAddress]) {
        self.servers = servers
    }

    /// The largest `Msg` body a batch may encode to: ``maximumBatchBytes`` less the frame header.
    public var maximumBatchBodyBytes: Int {
        max(self.maximumBatchBytes, RiemannMessageCodec.frameHeaderLength + 1) - RiemannMessageCodec.frameHeaderLength
    }

    /// The queue bounds these settings ask for: an event larger than a batch's body can never be
    /// sent, so it is refused on arrival.
    public var queueLimits: RiemannEventQueue.Limits {
        RiemannEventQueue.Limits(
            events: self.queueCapacity,
            bytes: self.queueMaximumBytes,
            eventBytes: self.maximumBatchBodyBytes
        )
    }

    /// These settings with every count raised to its minimum (1 event per batch, 1 message in
    /// flight, 1 delivery attempt, 1 event queued), so that no value a caller passes can stop the
    /// client or trap it; the configuration file's ranges are stricter.
    var normalized: RiemannClientConfiguration {
        var configuration = self
        configuration.maximumBatchEvents = max(configuration.maximumBatchEvents, 1)
        configuration.maximumBatchBytes = max(
            configuration.maximumBatchBytes,
            RiemannMessageCodec.frameHeaderLength + 1
        )
        configuration.maximumMessagesInFlight = max(configuration.maximumMessagesInFlight, 1)
        configuration.maximumDeliveryAttempts = max(configuration.maximumDeliveryAttempts, 1)
        configuration.queueCapacity = max(configuration.queueCapacity, 1)
        return configuration
    }
}
