import NIOCore

#if canImport(Glibc)
import CRelaySystem
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A bound, listening, non-blocking TCP socket of a listener, shared by all event loops.
///
/// Options set here are inherited by every accepted socket, so they cost no system call per
/// connection: `TCP_NODELAY` (the relay writes what it read at once; Nagle would hold a second
/// small write for an ACK), and the socket buffer sizes. `TCP_DEFER_ACCEPT` when configured.
struct ListeningSocket: Sendable {
    let fd: Int32
    let localAddress: SocketAddress?
    /// The SO_SNDBUF/SO_RCVBUF the accepted sockets inherit (`nil`: the kernel's autotuning).
    let socketBufferSize: Int?

    /// Binds `endpoint` (an IP literal or a name, resolved here) and listens.
    static func open(
        _ endpoint: Endpoint,
        backlog: Int32,
        socketBufferSize: Int?,
        deferAccept: Duration?
    ) throws -> ListeningSocket {
        #if os(Linux)
        let address: RawSocketAddress
        if let literal = RawSocketAddress(literal: endpoint) {
            address = literal
        } else if let resolved = TargetResolver.lookup(endpoint) {
            address = resolved
        } else {
            throw SystemCallError("getaddrinfo \(endpoint.host)", errno: EADDRNOTAVAIL)
        }
        let fd = socket(address.family, Int32(SOCK_STREAM.rawValue | SOCK_NONBLOCK.rawValue | SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw SystemCallError("socket") }
        func fail(_ call: String) -> SystemCallError {
            let error = SystemCallError(call)
            _ = Glibc.close(fd)
            return error
        }
        var one: Int32 = 1
        let size = MemoryLayout<Int32>.size
        guard setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(size)) == 0 else {
            throw fail("setsockopt SO_REUSEADDR")
        }
        guard setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(size)) == 0 else {
            throw fail("setsockopt TCP_NODELAY")
        }
        if let bufferSize = socketBufferSize {
            // Also sets the window scale the accepted connections start with.
            var value = Int32(clamping: bufferSize)
            setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &value, socklen_t(size))
            setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &value, socklen_t(size))
        }
        if let deferAccept {
            var seconds = Int32(clamping: max(1, deferAccept.components.seconds))
            setsockopt(fd, Int32(IPPROTO_TCP), TCP_DEFER_ACCEPT, &seconds, socklen_t(size))
        }
        guard address.withSockAddr({ bind(fd, $0, $1) }) == 0 else { throw fail("bind") }
        guard listen(fd, backlog) == 0 else { throw fail("listen") }
        var local = RawSocketAddress()
        _ = withUnsafeMutablePointer(to: &local.storage) { storage in
            storage.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &local.length) }
        }
        return ListeningSocket(fd: fd, localAddress: local.socketAddress, socketBufferSize: socketBufferSize)
        #else
        throw RelayEngine.Unsupported()
        #endif
    }

    func close() {
        #if canImport(Glibc)
        _ = Glibc.close(self.fd)
        #endif
    }
}
