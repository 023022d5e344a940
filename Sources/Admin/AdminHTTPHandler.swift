import NIOCore
import NIOHTTP1

/// Answers the requests of one admin connection, one at a time, within deadlines.
///
/// Sits behind NIO's HTTP/1.1 server pipeline (which holds back pipelined requests until the
/// current response is written). Request bodies are discarded and bounded: a body larger than
/// ``maximumBodyBytes`` gets `413` and the connection is closed. Responses honour keep-alive.
///
/// Deadlines, not idle timers: a complete request must arrive within `requestTimeout` of the
/// accept or of the previous response, however the bytes trickle in (a slow-loris client that
/// sends one byte a second is closed like an idle one), and a response must be taken within
/// `responseTimeout`. ``AdminServer`` is told when the connection turns busy and waiting again,
/// for its admission decisions (``AdminConnectionTable``).
final class AdminHTTPHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    /// Callbacks into the server's connection table.
    struct Hooks: Sendable {
        /// A complete request arrived: the connection is busy.
        var requestReceived: @Sendable () -> Void
        /// Its response was written: the connection waits for the next request.
        var responseSent: @Sendable () -> Void
    }

    private enum State {
        /// Waiting for a request head.
        case idle
        /// Reading the body of `head`, `bodyBytes` so far.
        case receiving(head: HTTPRequestHead, bodyBytes: Int)
        /// The request was answered early (413) and the connection is closing; ignore the rest.
        case discarding
    }

    private let routes: AdminRoutes
    private let maximumBodyBytes: Int
    private let requestTimeout: TimeAmount
    private let responseTimeout: TimeAmount
    private let hooks: Hooks
    private var state = State.idle
    private var deadline: Scheduled<Void>?
    /// Requests received and not yet answered (pipelined requests can overlap a response's write).
    private var unanswered = 0

    init(
        routes: AdminRoutes,
        maximumBodyBytes: Int,
        requestTimeout: TimeAmount,
        responseTimeout: TimeAmount,
        hooks: Hooks
    ) {
        self.routes = routes
        self.maximumBodyBytes = maximumBodyBytes
        self.requestTimeout = requestTimeout
        self.responseTimeout = responseTimeout
        self.hooks = hooks
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.arm(self.requestTimeout, context: context)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.deadline?.cancel()
        self.deadline = nil
    }

    func channelInactive(context: ChannelHandlerContext) {
        self.deadline?.cancel()
        self.deadline = nil
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch (self.unwrapInboundIn(data), self.state) {
        case (.head(let head), _):
            self.state = .receiving(head: head, bodyBytes: 0)
        case (.body(let body), .receiving(let head, let bodyBytes)):
            let total = bodyBytes + body.readableBytes
            guard total <= self.maximumBodyBytes else {
                self.state = .discarding
                let response = AdminRoutes.Response(status: .payloadTooLarge, body: "request body too large\n")
                self.write(response, for: head, keepAlive: false, context: context)
                return
            }
            self.state = .receiving(head: head, bodyBytes: total)
        case (.end, .receiving(let head, _)):
            self.state = .idle
            self.unanswered += 1
            self.hooks.requestReceived()
            self.arm(self.responseTimeout, context: context)
            let keepAlive = head.isKeepAlive
            self.routes.respond(to: head, on: context.eventLoop).assumeIsolated().whenSuccess { response in
                self.write(response, for: head, keepAlive: keepAlive, context: context)
            }
        case (.body, _), (.end, _):
            break
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }

    /// Closes the connection unless it is re-armed within `timeout`.
    private func arm(_ timeout: TimeAmount, context: ChannelHandlerContext) {
        self.deadline?.cancel()
        self.deadline = context.eventLoop.assumeIsolated().scheduleTask(in: timeout) {
            context.close(promise: nil)
        }
    }

    private func write(
        _ response: AdminRoutes.Response,
        for request: HTTPRequestHead,
        keepAlive: Bool,
        context: ChannelHandlerContext
    ) {
        let body = context.channel.allocator.buffer(string: response.body)
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: response.contentType)
        headers.add(name: "Content-Length", value: String(body.readableBytes))
        for (name, value) in response.extraHeaders {
            headers.add(name: name, value: value)
        }
        if !keepAlive {
            headers.add(name: "Connection", value: "close")
        } else if request.version.major == 1, request.version.minor == 0 {
            headers.add(name: "Connection", value: "keep-alive")
        }
        let head = HTTPResponseHead(version: request.version, status: response.status, headers: headers)
        context.write(self.wrapOutboundOut(.head(head)), promise: nil)
        if request.method != .HEAD {
            context.write(self.wrapOutboundOut(.body(.byteBuffer(body))), promise: nil)
        }
        let written = context.writeAndFlush(self.wrapOutboundOut(.end(nil)))
        written.assumeIsolated().whenComplete { result in
            guard keepAlive, case .success = result, context.channel.isActive else {
                context.close(promise: nil)
                return
            }
            self.unanswered -= 1
            guard self.unanswered == 0 else { return }  // the next pipelined request is being answered
            self.hooks.responseSent()
            self.arm(self.requestTimeout, context: context)
        }
    }
}
