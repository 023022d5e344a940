// The floor SwiftNIO itself sets for a TCP relay: the smallest proxy that keeps the tee's relay
// rules (autoRead off, read on write success, half-close passed on), with nothing else — no
// statistics, timeouts, admission, logging or tap. Benchmarks/run.sh measures it as the variant
// `nio-floor`, so that the tee's per-connection cost splits into "SwiftNIO's" and "ours".
//
//   nio-floor LISTEN_PORT TARGET_PORT [LISTEN_PORT TARGET_PORT ...]   (127.0.0.1, one event loop)
import NIOCore
import NIOPosix

final class Glue: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    var partner: Glue?
    private var context: ChannelHandlerContext?
    private var pendingRead = false
    private var inputClosed = false
    private var outputClosed = false

    static func pair() -> (Glue, Glue) {
        let a = Glue()
        let b = Glue()
        a.partner = b
        b.partner = a
        return (a, b)
    }

    func handlerAdded(context: ChannelHandlerContext) { self.context = context }
    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
        self.partner = nil
    }

    private var lastWrite: EventLoopPromise<Void>?

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard let partnerContext = self.partner?.context else { return }
        let promise = partnerContext.eventLoop.makePromise(of: Void.self)
        partnerContext.write(data, promise: promise)
        self.lastWrite = promise
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        self.partner?.context?.flush()
        guard let written = self.lastWrite else { return }
        self.lastWrite = nil
        written.futureResult.assumeIsolated().whenSuccess { context.read() }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let event = event as? ChannelEvent, event == .inputClosed {
            self.inputClosed = true
            self.partner?.shutdownOutput()
            self.closeIfDone()
        }
    }

    func shutdownOutput() {
        guard let context, !self.outputClosed else { return }
        self.outputClosed = true
        context.close(mode: .output, promise: nil)
        self.closeIfDone()
    }

    private func closeIfDone() {
        if self.inputClosed, self.outputClosed { self.context?.close(promise: nil) }
    }

    func channelInactive(context: ChannelHandlerContext) {
        self.partner?.context?.close(promise: nil)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }

    func channelActive(context: ChannelHandlerContext) { context.read() }
}

let arguments = CommandLine.arguments.dropFirst().compactMap { Int($0) }
precondition(arguments.count >= 2 && arguments.count % 2 == 0, "usage: nio-floor LISTEN TARGET [LISTEN TARGET ...]")
let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
let loop = group.next()
let client = ClientBootstrap(group: loop)
    .channelOption(.autoRead, value: false)
    .channelOption(.allowRemoteHalfClosure, value: true)
var servers: [any Channel] = []
for pair in stride(from: 0, to: arguments.count, by: 2) {
    let target = try SocketAddress(ipAddress: "127.0.0.1", port: arguments[pair + 1])
    let server = try ServerBootstrap(group: group)
        .serverChannelOption(.backlog, value: 4096)
        .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
        .childChannelOption(.autoRead, value: false)
        .childChannelOption(.allowRemoteHalfClosure, value: true)
        .childChannelInitializer { inbound in
            client.connect(to: target).flatMap { outbound in
                let (a, b) = Glue.pair()
                return inbound.eventLoop.makeCompletedFuture {
                    try outbound.pipeline.syncOperations.addHandler(b)
                    try inbound.pipeline.syncOperations.addHandler(a)
                }
            }
        }
        .bind(host: "127.0.0.1", port: arguments[pair]).wait()
    servers.append(server)
}
print("nio-floor listening on \(arguments.count / 2) port(s)")
try servers[0].closeFuture.wait()
