import NIOCore

/// Creates one ``RelayConnectionTap`` per relayed connection.
///
/// The relay calls the factory on the connection's event loop once the target is connected.
/// Returning `nil` means "this connection is not observed".
public protocol RelayTapFactory: Sendable {
    func makeTap(for connection: RelayConnectionInfo) -> (any RelayConnectionTap)?
    /// The same, for a connection of the event loop `loop`: the tap may gather work in a batch of
    /// the loop, handed on at the end of the loop's iteration (see ``RelayTapBatch``).
    func makeTap(for connection: RelayConnectionInfo, on loop: RelayTapLoop) -> (any RelayConnectionTap)?
}

extension RelayTapFactory {
    public func makeTap(for connection: RelayConnectionInfo, on loop: RelayTapLoop) -> (any RelayConnectionTap)? {
        self.makeTap(for: connection)
    }
}

/// Observes the bytes of one relayed connection, without any say over them.
///
/// The relay hands every read it forwards to ``observe(_:direction:)`` right *after* writing it to
/// the other side, as a view of the event loop's scratch buffer: valid only during the call (the
/// next read overwrites it), so a tap copies what it keeps. A tap cannot change, delay or drop
/// relayed bytes, and cannot influence reads, writes or closes:
/// - its methods run on the connection's event loop and must return quickly (hand heavy work
///   to another thread through a bounded queue, and drop when that queue is full);
/// - if a method throws, the relay logs it once and detaches the tap from that connection;
///   the relay itself carries on untouched.
public protocol RelayConnectionTap: AnyObject {
    /// Bytes that were forwarded in `direction`, in order; valid only during the call.
    func observe(_ bytes: UnsafeRawBufferPointer, direction: RelayDirection) throws
    /// `direction` reached end of stream: no more bytes will be observed in it.
    func endOfStream(_ direction: RelayDirection) throws
    /// The connection is closed (both channels). Called exactly once, also after a throw.
    func connectionClosed()
}

extension RelayConnectionTap {
    public func endOfStream(_ direction: RelayDirection) throws {}
}
