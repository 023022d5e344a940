import NIOCore

/// Everything the relay needs to know about one listener.
public struct RelayListenerConfiguration: Sendable, Hashable {
    /// Name used in logs and metrics.
    public var name: String
    /// Addresses to accept client connections on.
    public var listen: [Endpoint]
    /// Where to relay each connection; tried in the order ``balance`` gives.
    public var targets: [Endpoint]
    public var balance: BalanceStrategy
    /// How long one connect attempt to a target may take before the next target is tried.
    public var connectTimeout: Duration
    /// A connection with no byte read or written in either direction for this long is closed.
    /// Zabbix proxies wait up to 600 s for a reply, so the default is well above that.
    public var idleTimeout: Duration
    /// How long a target that failed a connect is tried only after the healthy ones.
    public var targetCoolDown: Duration
    /// How long a side may take to accept what is still queued for it once the other side closed.
    public var drainTimeout: Duration
    /// How long a client may stay connected without sending a byte (in every Zabbix conversation
    /// the connecting side speaks first).
    public var firstByteTimeout: Duration
    /// Once the server finished (its end of stream passed on, nothing queued for the client), how
    /// long the client may stay without sending or closing (HAProxy's `timeout client-fin`).
    public var clientFinTimeout: Duration
    /// Once the client finished sending (shut down its output), how long the server may stay
    /// without sending: the longest reply a Zabbix server or proxy takes (600 s) and some.
    public var serverReplyTimeout: Duration
    /// Client connections open at once; more are closed on accept and counted.
    public var maxConnections: Int
    /// Client addresses allowed to connect; others are closed on accept and counted. Default:
    /// ``IPNetwork/everyone``.
    public var allow: [IPNetwork]
    /// Client connections open at once from one source address; `nil`: no per-source limit (the
    /// default, since many agents may share one NAT address).
    public var maxConnectionsPerSource: Int?
    /// Connections admitted per second (a token bucket); `nil`: no rate limit (the default).
    public var acceptRate: AcceptRate?
    /// The shortest time between two warnings about refused connections of the same kind
    /// (not in `config.yaml`; tests shorten it).
    public var refusalLogInterval: Duration
    /// Listen backlog of each listening socket.
    public var backlog: Int32
    /// Kernel send and receive buffer size (SO_SNDBUF/SO_RCVBUF) of both sockets of a relayed
    /// connection; `nil` keeps the kernel's autotuning. Bounds kernel memory per connection.
    public var socketBufferSize: Int?
    /// TCP options that save packets or system calls (``RelayKernelOptions``).
    public var kernel: RelayKernelOptions

    /// The deadlines of this listener's connections, in the `NIODeadline` arithmetic the state
    /// machine and its timer wheel run on (converted once per settings snapshot).
    public var timeouts: RelayTimeouts {
        RelayTimeouts(
            connect: TimeAmount(self.connectTimeout),
            firstByte: TimeAmount(self.firstByteTimeout),
            idle: TimeAmount(self.idleTimeout),
            drain: TimeAmount(self.drainTimeout),
            clientFin: TimeAmount(self.clientFinTimeout),
            serverReply: TimeAmount(self.serverReplyTimeout)
        )
    }

    public init(
        name: String,
        listen: [Endpoint],
        targets: [Endpoint],
        balance: BalanceStrategy = .failover,
        connectTimeout: Duration = .seconds(5),
        idleTimeout: Duration = .seconds(900),
        targetCoolDown: Duration = .seconds(30),
        drainTimeout: Duration = .seconds(30),
        firstByteTimeout: Duration = .seconds(30),
        clientFinTimeout: Duration = .seconds(10),
        serverReplyTimeout: Duration = .seconds(620),
        maxConnections: Int = 10_000,
        allow: [IPNetwork] = IPNetwork.everyone,
        maxConnectionsPerSource: Int? = nil,
        acceptRate: AcceptRate? = nil,
        refusalLogInterval: Duration = .seconds(60),
        backlog: Int32 = 1024,
        socketBufferSize: Int? = nil,
        kernel: RelayKernelOptions = RelayKernelOptions()
    ) {
        self.name = name
        self.listen = listen
        self.targets = targets
        self.balance = balance
        self.connectTimeout = connectTimeout
        self.idleTimeout = idleTimeout
        self.targetCoolDown = targetCoolDown
        self.drainTimeout = drainTimeout
        self.firstByteTimeout = firstByteTimeout
        self.clientFinTimeout = clientFinTimeout
        self.serverReplyTimeout = serverReplyTimeout
        self.maxConnections = maxConnections
        self.allow = allow
        self.maxConnectionsPerSource = maxConnectionsPerSource
        self.acceptRate = acceptRate
        self.refusalLogInterval = refusalLogInterval
        self.backlog = backlog
        self.socketBufferSize = socketBufferSize
        self.kernel = kernel
    }
}

/// TCP options of a listener's sockets that save segments or system calls per connection. None
/// changes the bytes relayed; each changes what the peers see on the wire, so each can be turned
/// off (see BENCHMARKS.md for what each saves).
public struct RelayKernelOptions: Sendable, Hashable {
    /// `TCP_QUICKACK` off on the server socket before `connect`: the handshake's last ACK waits
    /// for the client's request and travels with it (HAProxy's `option tcp-smart-connect`).
    public var quickAckOffBeforeConnect: Bool
    /// The last bytes before an end of stream go out with `MSG_MORE`, so the FIN shares their
    /// segment. On by default: `MSG_MORE` is only used once the source's end of stream was read,
    /// so the `shutdown` that releases the held bytes follows at once (nothing waits for the
    /// kernel's cork timer), and a relayed Zabbix conversation takes about one segment less.
    public var moreBeforeEndOfStream: Bool
    /// `TCP_DEFER_ACCEPT` on the listening sockets: a connection is accepted only once its first
    /// bytes arrived (or this long passed); `nil`: off. Clients that never speak then never reach
    /// the tee (nor its counters).
    public var deferAccept: Duration?

    public init(
        quickAckOffBeforeConnect: Bool = false,
        moreBeforeEndOfStream: Bool = true,
        deferAccept: Duration? = nil
    ) {
        self.quickAckOffBeforeConnect = quickAckOffBeforeConnect
        self.moreBeforeEndOfStream = moreBeforeEndOfStream
        self.deferAccept = deferAccept
    }
}

/// A token bucket for accepted connections: ``perSecond`` on average, up to ``burst`` at once.
public struct AcceptRate: Sendable, Hashable {
    /// Connections admitted per second, on average.
    public var perSecond: Double
    /// Connections admitted back to back after a quiet period (the bucket's size).
    public var burst: Int

    /// `burst` defaults to one second's worth (at least 1).
    public init(perSecond: Double, burst: Int? = nil) {
        self.perSecond = perSecond
        self.burst = burst ?? max(1, Int(perSecond.rounded(.up)))
    }
}
