import ArgumentParser
import Foundation
import NIOCore
import NIOPosix
import Relay
import Riemann
import Tee
import UnixSignals

/// `zabbix-tee riemann-listen`: a Riemann-protocol listener that acknowledges and prints events.
///
/// For trying the tee without a Riemann server, and for seeing exactly what it sends.
struct RiemannListenCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "riemann-listen",
        abstract: "Accept Riemann protobuf events over TCP, acknowledge them, print them as JSON lines.",
        discussion: "Stops on SIGINT/SIGTERM, or after --count events."
    )

    @Option(help: "Address to listen on.")
    var listen = "127.0.0.1:5555"

    @Option(help: "Exit after this many events.")
    var count: Int?

    func run() async throws {
        let endpoint: Endpoint
        do { endpoint = try Endpoint(parsing: self.listen) } catch { throw ValidationError("--listen: \(error)") }
        let counter = EventPrinter(limit: self.count)
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let channel = try await ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(RiemannFrameDecoder()))
                    try channel.pipeline.syncOperations.addHandler(RiemannPrintingHandler(printer: counter))
                }
            }
            .bind(host: endpoint.host, port: endpoint.port).get()
        StandardStream.error.write(
            "zabbix-tee riemann-listen: listening on \(channel.localAddress?.displayText ?? self.listen)\n"
        )
        counter.onLimit = { channel.close(promise: nil) }
        let signals = await UnixSignalsSequence(trapping: .sigterm, .sigint)
        let stopOnSignal = Task {
            for await _ in signals {
                try? await channel.close()
                break
            }
        }
        try await channel.closeFuture.get()
        stopOnSignal.cancel()
        try await group.shutdownGracefully()
    }
}

/// Prints events as JSON lines and closes the listener after `limit` events.
final class EventPrinter: @unchecked Sendable {
    private let lock = NSLock()
    private var printed = 0
    private let limit: Int?
    var onLimit: (@Sendable () -> Void)?

    init(limit: Int?) {
        self.limit = limit
    }

    func print(_ events: [RiemannEvent]) {
        let reachedLimit: Bool = self.lock.withLock {
            var lines = ""
            for event in events {
                lines +=
                    DecodeCommand.text(DecodeCommand.json(event, recording: "").filter { $0.key != "recording" }) + "\n"
            }
            StandardStream.output.write(lines)
            self.printed += events.count
            return self.limit.map { self.printed >= $0 } ?? false
        }
        if reachedLimit { self.onLimit?() }
    }
}

/// Acknowledges every message (`{ok: true}`) after printing its events.
final class RiemannPrintingHandler: ChannelInboundHandler {
    typealias InboundIn = RiemannMessage
    typealias OutboundOut = ByteBuffer
    let printer: EventPrinter

    init(printer: EventPrinter) {
        self.printer = printer
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let message = self.unwrapInboundIn(data)
        self.printer.print(message.events)
        context.writeAndFlush(
            self.wrapOutboundOut(RiemannMessageCodec.acknowledgementFrame(allocator: context.channel.allocator)),
            promise: nil
        )
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}
