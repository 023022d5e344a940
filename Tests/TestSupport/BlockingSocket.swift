#if canImport(Glibc)
import Glibc
#endif

/// A plain blocking TCP socket for test peers, independent of the NIO code under test.
///
/// Test peers run on their own threads (see ``TestThreads``) so that a peer that blocks in
/// `send` or `recv` is exactly what a real agent or server would do.
public final class BlockingSocket: @unchecked Sendable {
    public let fd: Int32
    private var closed = false

    public struct Failure: Error, CustomStringConvertible {
        public var operation: String
        public var errno: Int32
        public var description: String {
            "\(self.operation) failed: \(String(cString: strerror(self.errno))) (\(self.errno))"
        }
    }

    init(fd: Int32) {
        self.fd = fd
    }

    deinit {
        if !self.closed { Glibc.close(self.fd) }
    }

    /// Connects to `host:port` (an IPv4 or IPv6 literal), from `source` when given (an address of
    /// the same family, e.g. `127.0.0.2`: all of 127.0.0.0/8 is loopback, so tests can play
    /// several clients).
    public static func connect(
        host: String = "127.0.0.1",
        port: Int,
        from source: String? = nil
    ) throws -> BlockingSocket {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_flags = AI_NUMERICHOST
        var result: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, String(port), &hints, &result) == 0, let info = result else {
            throw Failure(operation: "getaddrinfo \(host)", errno: EINVAL)
        }
        defer { freeaddrinfo(result) }
        let fd = socket(info.pointee.ai_family, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw Failure(operation: "socket", errno: errno) }
        let socket = BlockingSocket(fd: fd)
        if let source {
            var sourceInfo: UnsafeMutablePointer<addrinfo>?
            guard getaddrinfo(source, "0", &hints, &sourceInfo) == 0, let local = sourceInfo else {
                throw Failure(operation: "getaddrinfo \(source)", errno: EINVAL)
            }
            defer { freeaddrinfo(sourceInfo) }
            guard bind(fd, local.pointee.ai_addr, local.pointee.ai_addrlen) == 0 else {
                throw Failure(operation: "bind \(source)", errno: errno)
            }
        }
        guard Glibc.connect(fd, info.pointee.ai_addr, info.pointee.ai_addrlen) == 0 else {
            throw Failure(operation: "connect \(host):\(port)", errno: errno)
        }
        return socket
    }

    /// Starts a connect without waiting for it to complete (the socket stays non-blocking).
    public static func connectWithoutWaiting(host: String = "127.0.0.1", port: Int) throws -> BlockingSocket {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
        guard fd >= 0 else { throw Failure(operation: "socket", errno: errno) }
        let socket = BlockingSocket(fd: fd)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        inet_pton(AF_INET, host, &address.sin_addr)
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard result == 0 || errno == EINPROGRESS else { throw Failure(operation: "connect", errno: errno) }
        return socket
    }

    /// Writes all of `bytes`, blocking while the peer does not read.
    public func send(_ bytes: UnsafeRawBufferPointer) throws {
        var offset = 0
        while offset < bytes.count {
            let n = Glibc.send(self.fd, bytes.baseAddress! + offset, bytes.count - offset, Int32(MSG_NOSIGNAL))
            if n < 0 {
                if errno == EINTR { continue }
                throw Failure(operation: "send", errno: errno)
            }
            offset += n
        }
    }

    public func send(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { try self.send($0) }
    }

    public func send(_ text: String) throws {
        try self.send(Array(text.utf8))
    }

    /// Reads up to `maximum` bytes; an empty result means end of stream.
    public func receive(maximum: Int = 65536) throws -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: maximum)
        while true {
            let n = buffer.withUnsafeMutableBytes { recv(self.fd, $0.baseAddress, maximum, 0) }
            if n < 0 {
                if errno == EINTR { continue }
                throw Failure(operation: "recv", errno: errno)
            }
            buffer.removeSubrange(n...)
            return buffer
        }
    }

    /// Reads until end of stream.
    public func receiveAll() throws -> [UInt8] {
        var all: [UInt8] = []
        while true {
            let chunk = try self.receive()
            if chunk.isEmpty { return all }
            all += chunk
        }
    }

    /// Reads exactly `count` bytes, or fewer if the stream ends first.
    public func receive(exactly count: Int) throws -> [UInt8] {
        var all: [UInt8] = []
        while all.count < count {
            let chunk = try self.receive(maximum: min(65536, count - all.count))
            if chunk.isEmpty { break }
            all += chunk
        }
        return all
    }

    /// Reads until end of stream, handing each chunk to `body` without keeping it.
    public func receiveUntilEOF(_ body: (UnsafeRawBufferPointer) -> Void) throws {
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = buffer.withUnsafeMutableBytes { recv(self.fd, $0.baseAddress, 65536, 0) }
            if n < 0 {
                if errno == EINTR { continue }
                throw Failure(operation: "recv", errno: errno)
            }
            if n == 0 { return }
            buffer.withUnsafeBytes { body(UnsafeRawBufferPointer(rebasing: $0[..<n])) }
        }
    }

    /// Sends FIN: the peer sees end of stream, this side can still read.
    public func shutdownWrite() {
        _ = Glibc.shutdown(self.fd, Int32(SHUT_WR))
    }

    /// Gives up after `seconds` in a blocking `recv` (it then throws EAGAIN).
    public func setReceiveTimeout(seconds: Double) {
        var timeout = timeval(tv_sec: Int(seconds), tv_usec: Int((seconds - Double(Int(seconds))) * 1e6))
        _ = setsockopt(self.fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }

    public func setReceiveBufferSize(_ bytes: Int32) {
        var size = bytes
        _ = setsockopt(self.fd, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
    }

    public func close() {
        guard !self.closed else { return }
        self.closed = true
        Glibc.close(self.fd)
    }

    /// Waits until the peer's kernel has acknowledged every byte sent (`TIOCOUTQ` is 0), up to
    /// `timeout`: a ``reset()`` after that cannot discard them. Returns whether it happened.
    @discardableResult
    public func waitUntilAcknowledged(timeout: Duration = .seconds(10)) -> Bool {
        waitUntilBlocking(timeout: timeout, interval: .milliseconds(1)) {
            var unacknowledged: Int32 = 0
            return ioctl(self.fd, UInt(TIOCOUTQ), &unacknowledged) == 0 && unacknowledged == 0
        }
    }

    /// Closes with SO_LINGER 0: the peer gets a TCP reset instead of a FIN.
    public func reset() {
        var linger = Glibc.linger(l_onoff: 1, l_linger: 0)
        _ = setsockopt(self.fd, SOL_SOCKET, SO_LINGER, &linger, socklen_t(MemoryLayout<Glibc.linger>.size))
        self.close()
    }
}

/// A blocking listening socket on loopback.
public final class BlockingListener: @unchecked Sendable {
    public let fd: Int32
    public let port: Int

    /// Listens on `host` (IPv4 literal) and `port` (0 = any free port).
    public init(host: String = "127.0.0.1", port: Int = 0, backlog: Int32 = 512) throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw BlockingSocket.Failure(operation: "socket", errno: errno) }
        var one: Int32 = 1
        _ = setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        inet_pton(AF_INET, host, &address.sin_addr)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard bound == 0, listen(fd, backlog) == 0 else {
            let error = errno
            Glibc.close(fd)
            throw BlockingSocket.Failure(operation: "bind/listen \(host):\(port)", errno: error)
        }
        var actual = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &actual) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        self.fd = fd
        self.port = Int(UInt16(bigEndian: actual.sin_port))
    }

    public func accept() throws -> BlockingSocket {
        while true {
            let client = Glibc.accept(self.fd, nil, nil)
            if client >= 0 { return BlockingSocket(fd: client) }
            if errno == EINTR { continue }
            throw BlockingSocket.Failure(operation: "accept", errno: errno)
        }
    }

    /// Closes the listening socket; a blocked `accept` returns with an error.
    public func close() {
        _ = Glibc.shutdown(self.fd, Int32(SHUT_RDWR))
        Glibc.close(self.fd)
    }

    /// A port on 127.0.0.1 that nothing listens on (connects are refused).
    public static func refusingPort() throws -> Int {
        let listener = try BlockingListener()
        let port = listener.port
        listener.close()
        return port
    }
}
