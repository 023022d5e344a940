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
    public var connectTimeout: TimeAmount
    /// A connection with no byte read or written in either direction for this long is closed.
    /// Zabbix proxies wait up to 600 s for a reply, so the default is well above that.
    public var idleTimeout: TimeAmount
    /// How long a target that failed a connect is tried only after the healthy ones.
    public var targetCoolDown: TimeAmount
    /// How long a side may take to accept what is still queued for it once the other side closed.
    public var drainTimeout: TimeAmount
    /// Client connections open at once; more are closed on accept and counted.
    public var maxConnections: Int
    /// Listen backlog of each listening socket.
    public var backlog: Int32
    /// Kernel send and receive buffer size (SO_SNDBUF/SO_RCVBUF) of both sockets of a relayed
    /// connection; `nil` keeps the kernel's autotuning. Bounds kernel memory per connection.
    public var socketBufferSize: Int?

    public init(
        name: String,
        listen: [Endpoint],
        targets: [Endpoint],
        balance: BalanceStrategy = .failover,
        connectTimeout: TimeAmount = .seconds(5),
        idleTimeout: TimeAmount = .seconds(900),
        targetCoolDown: TimeAmount = .seconds(30),
        drainTimeout: TimeAmount = .seconds(30),
        maxConnections: Int = 10_000,
        backlog: Int32 = 1024,
        socketBufferSize: Int? = nil
    ) {
        self.name = name
        self.listen = listen
        self.targets = targets
        self.balance = balance
        self.connectTimeout = connectTimeout
        self.idleTimeout = idleTimeout
        self.targetCoolDown = targetCoolDown
        self.drainTimeout = drainTimeout
        self.maxConnections = maxConnections
        self.backlog = backlog
        self.socketBufferSize = socketBufferSize
    }
}
