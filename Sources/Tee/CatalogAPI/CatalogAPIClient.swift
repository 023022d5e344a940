import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization
import ZabbixProtocol

/// The thin I/O shell of ``CatalogAPILookupStateMachine``: carries its `send` and `cancel`
/// actions out as HTTP/1.1 POSTs to the Zabbix API on one event loop, feeds back what came of
/// them, and ticks it every 100 ms. Each request has a connection of its own (`Connection:
/// close`): requests are rare and batched, and a fresh connection never inherits a stuck one.
///
/// What it learns goes to `delegate`, on the event loop. Callers on any thread use ``want(_:until:)``,
/// which never waits.
final class CatalogAPIClient: Sendable {
    /// What the answers mean for the catalog.
    struct Delegate: Sendable {
        /// The API named these items.
        var resolved: @Sendable ([UInt64: ItemCatalogEntry]) -> Void
        /// The API does not know these itemids.
        var notFound: @Sendable ([UInt64]) -> Void
    }

    /// The largest answer read: 500 items of a few hundred bytes each fit with a wide margin.
    static let maximumAnswerBytes = 16 << 20

    let configuration: CatalogAPIConfiguration
    private let eventLoop: any EventLoop
    private let delegate: Delegate
    private let statistics: CatalogAPIStatistics
    private let logger: Logger
    private let machine: Mutex<(machine: CatalogAPILookupStateMachine, counted: CatalogAPIStatistics.Counts)>
    private let channels = Mutex<[UInt64: any Channel]>([:])
    private let ticker = Mutex<RepeatedTask?>(nil)
    /// Set by ``shutdown()``: what arrives later (a late answer) changes nothing.
    private let stopped = Atomic(false)

    init(
        configuration: CatalogAPIConfiguration,
        maximumQueued: Int,
        eventLoop: any EventLoop,
        statistics: CatalogAPIStatistics,
        logger: Logger,
        delegate: Delegate
    ) {
        self.configuration = configuration
        self.eventLoop = eventLoop
        self.delegate = delegate
        self.statistics = statistics
        self.logger = logger
        self.machine = Mutex(
            (
                CatalogAPILookupStateMachine(
                    configuration: configuration.lookupConfiguration(maximumQueued: maximumQueued)
                ), .init()
            )
        )
    }

    func start() {
        let task = self.eventLoop.scheduleRepeatedTask(initialDelay: .milliseconds(100), delay: .milliseconds(100)) {
            [self] _ in
            self.run { $0.tick(now: .now) }
        }
        self.ticker.withLock { $0 = task }
    }

    /// Stops ticking and abandons the request in flight; later answers change nothing.
    func shutdown() {
        self.stopped.store(true, ordering: .relaxed)
        self.ticker.withLock { $0?.cancel() }
        for channel in self.channels.withLock({ channels in
            defer { channels = [:] }
            return Array(channels.values)
        }) {
            channel.close(promise: nil)
        }
    }

    /// Values wait for `itemids` until `deadline`.
    func want(_ itemids: [UInt64], until deadline: ContinuousClock.Instant) {
        guard !itemids.isEmpty else { return }
        self.run { $0.want(itemids, until: deadline, now: .now) }
    }

    // MARK: Carrying out

    private func run(_ event: (inout CatalogAPILookupStateMachine) -> [CatalogAPILookupStateMachine.Action]) {
        let actions = self.machine.withLock { state in
            let actions = event(&state.machine)
            let counts = CatalogAPIStatistics.Counts(state.machine)
            self.statistics.add(counts.subtracting(state.counted), circuitOpen: state.machine.isOpen)
            state.counted = counts
            return actions
        }
        for action in actions { self.perform(action) }
    }

    private func perform(_ action: CatalogAPILookupStateMachine.Action) {
        guard !self.stopped.load(ordering: .relaxed) else { return }
        switch action {
        case .send(let request):
            self.eventLoop.execute { self.send(request) }
        case .cancel(let requestID):
            self.channels.withLock { $0.removeValue(forKey: requestID) }?.close(promise: nil)
            self.logger.warning(
                "Zabbix API request timed out; values wait for it at most catalog.unresolved_wait",
                metadata: ["url": "\(self.configuration.endpoint)", "timeout": "\(self.configuration.timeout)"]
            )
        case .resolved(let entries):
            self.delegate.resolved(entries)
        case .notFound(let itemids):
            self.delegate.notFound(itemids)
        }
    }

    private func send(_ request: CatalogAPILookupStateMachine.Request) {
        let endpoint = self.configuration.endpoint
        let body: [UInt8]
        let bearer: String?
        switch request.kind {
        case .version:
            body = ZabbixAPIItemGet.versionRequest(id: request.id)
            bearer = nil
        case .items(let itemids, let authMember):
            let secret = self.configuration.token.secret
            body = ZabbixAPIItemGet.request(itemids: itemids, id: request.id, auth: authMember ? secret : nil)
            bearer = authMember ? nil : secret
        }
        // Everything below runs on `eventLoop` (the channel's loop too). The answer completes
        // once: from the handler, a failed connect, or this request's own deadline, which bounds
        // the connection whatever the state machine's timeout saw (a connect completing just
        // after it, say).
        let promise = self.eventLoop.makePromise(of: [UInt8].self)
        let completed = NIOLoopBoundBox(false, eventLoop: self.eventLoop)
        let complete: @Sendable (Result<[UInt8], any Error>) -> Void = { result in
            guard !completed.value else { return }
            completed.value = true
            promise.completeWith(result)
        }
        let deadline = self.eventLoop.scheduleTask(in: TimeAmount(self.configuration.timeout)) {
            complete(
                .failure(CatalogAPIAnswerHandler.Failure(description: "no answer within \(self.configuration.timeout)"))
            )
        }
        let connected = ClientBootstrap(group: self.eventLoop)
            .connectTimeout(TimeAmount(self.configuration.timeout))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    try channel.pipeline.syncOperations.addHandler(
                        CatalogAPIAnswerHandler(limit: Self.maximumAnswerBytes, complete: complete)
                    )
                }
            }
            .connect(host: endpoint.host, port: endpoint.port)
        connected.whenComplete { result in
            switch result {
            case .success(let channel):
                guard !completed.value else {
                    channel.close(promise: nil)
                    return
                }
                self.channels.withLock { $0[request.id] = channel }
                var head = HTTPRequestHead(version: .http1_1, method: .POST, uri: endpoint.path)
                head.headers.add(name: "Host", value: endpoint.hostHeader)
                head.headers.add(name: "Content-Type", value: "application/json-rpc")
                head.headers.add(name: "Content-Length", value: "\(body.count)")
                head.headers.add(name: "Connection", value: "close")
                if let bearer { head.headers.add(name: "Authorization", value: "Bearer " + bearer) }
                channel.write(HTTPClientRequestPart.head(head), promise: nil)
                channel.write(HTTPClientRequestPart.body(.byteBuffer(ByteBuffer(bytes: body))), promise: nil)
                channel.writeAndFlush(HTTPClientRequestPart.end(nil), promise: nil)
            case .failure(let error):
                complete(.failure(error))
            }
        }
        promise.futureResult.whenComplete { result in
            deadline.cancel()
            if let channel = self.channels.withLock({ $0.removeValue(forKey: request.id) }) {
                channel.close(promise: nil)
            }
            self.finished(request, result)
        }
    }

    private func finished(_ request: CatalogAPILookupStateMachine.Request, _ result: Result<[UInt8], any Error>) {
        do {
            let body = try result.get()
            switch request.kind {
            case .version:
                let version = try ZabbixAPIItemGet.version(fromAnswer: body)
                self.run { $0.answered(requestID: request.id, version: version, now: .now) }
            case .items:
                let entries = try ZabbixAPIItemGet.entries(fromAnswer: body)
                self.run { $0.answered(requestID: request.id, entries: entries, now: .now) }
            }
        } catch {
            // A request abandoned at its timeout (already logged) fails too, late: not logged again.
            guard self.machine.withLock({ $0.machine.inFlightRequestID == request.id }) else { return }
            self.logger.warning(
                "Zabbix API request failed; values wait for it at most catalog.unresolved_wait",
                metadata: ["url": "\(self.configuration.endpoint)", "error": "\(error)"]
            )
            self.run { $0.failed(requestID: request.id, .error, now: .now) }
        }
    }
}

/// Collects one HTTP answer's body (up to a limit) and hands it to `complete`; anything but a
/// whole `200` answer is a failure.
private final class CatalogAPIAnswerHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPClientResponsePart

    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    private let limit: Int
    private let complete: @Sendable (Result<[UInt8], any Error>) -> Void
    private var status: HTTPResponseStatus?
    private var body: [UInt8] = []
    private var done = false

    init(limit: Int, complete: @escaping @Sendable (Result<[UInt8], any Error>) -> Void) {
        self.limit = limit
        self.complete = complete
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !self.done else { return }
        switch self.unwrapInboundIn(data) {
        case .head(let head):
            self.status = head.status
        case .body(var buffer):
            guard self.body.count + buffer.readableBytes <= self.limit else {
                self.complete(
                    .failure(Failure(description: "answer larger than \(self.limit) bytes")),
                    context: context
                )
                return
            }
            self.body += buffer.readBytes(length: buffer.readableBytes) ?? []
        case .end:
            if self.status == .ok {
                self.complete(.success(self.body), context: context)
            } else {
                self.complete(
                    .failure(Failure(description: "HTTP status \(self.status.map { "\($0.code)" } ?? "unknown")")),
                    context: context
                )
            }
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        self.complete(.failure(error), context: context)
    }

    func channelInactive(context: ChannelHandlerContext) {
        self.complete(.failure(Failure(description: "connection closed before the answer ended")), context: context)
        context.fireChannelInactive()
    }

    private func complete(_ result: Result<[UInt8], any Error>, context: ChannelHandlerContext) {
        guard !self.done else { return }
        self.done = true
        self.complete(result)
        context.close(promise: nil)
    }
}
