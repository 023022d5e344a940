import NIOCore

/// The last handler of a client connection: hands replies and the connection's end to the
/// controller, tagged with the connection's identity so that events of an earlier connection
/// are ignored.
final class RiemannClientHandler: ChannelInboundHandler {
    typealias InboundIn = RiemannMessage

    private let controller: RiemannConnectionController
    private let connection: RiemannConnectionStateMachine.ConnectionID
    private var error: (any Error)?

    init(controller: RiemannConnectionController, connection: RiemannConnectionStateMachine.ConnectionID) {
        self.controller = controller
        self.connection = connection
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        self.controller.received(Self.unwrapInboundIn(data), connection: self.connection)
    }

    func channelInactive(context: ChannelHandlerContext) {
        self.controller.connectionClosed(connection: self.connection, error: self.error)
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
