import NIOCore

/// The last handler of a client connection: hands replies and the connection's end to the
/// controller, tagged with the connection's generation so stale events are ignored.
final class RiemannClientHandler: ChannelInboundHandler {
    typealias InboundIn = RiemannMessage

    private let controller: RiemannConnectionController
    private let generation: Int
    private var error: (any Error)?

    init(controller: RiemannConnectionController, generation: Int) {
        self.controller = controller
        self.generation = generation
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        self.controller.received(Self.unwrapInboundIn(data), generation: self.generation)
    }

    func channelInactive(context: ChannelHandlerContext) {
        self.controller.connectionClosed(generation: self.generation, error: self.error)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // Undecodable reply, oversized frame, reset...: the stream cannot be trusted any more.
        self.error = self.error ?? error
        context.close(promise: nil)
    }
}

@available(*, unavailable)
extension RiemannClientHandler: Sendable {}
