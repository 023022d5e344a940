import NIOCore
import NIOHTTP1

/// Answers the requests of one admin connection, one at a time.
///
/// Sits behind NIO's HTTP/1.1 server pipeline (which holds back pipelined requests until the
/// current response is written). Request bodies are discarded and bounded: a body larger than
/// ``maximumBodyBytes`` gets `413` and the connection is closed. Responses honour keep-alive.
final class AdminHTTPHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

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
    private var state = State.idle

    init(routes: AdminRoutes, maximumBodyBytes: Int) {
        self.routes = routes
        self.maximumBodyBytes = maximumBodyBytes
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
            let keepAlive = head.isKeepAlive
            self.routes.respond(to: head, on: context.eventLoop).assumeIsolated().whenSuccess { response in
                self.write(response, for: head, keepAlive: keepAlive, context: context)
            }
        case (.body, _), (.end, _):
            break
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is IdleStateHandler.IdleStateEvent {
            context.close(promise: nil)
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }

    private func write(
        _ response: AdminRoutes.Response, for request: HTTPRequestHead, keepAlive: Bool, context: ChannelHandlerContext
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
        if !keepAlive {
            written.assumeIsolated().whenComplete { _ in
                context.close(promise: nil)
            }
        }
    }
}
