// A relay in Swift straight on Linux epoll, without SwiftNIO: what the language and the kernel
// allow when no framework sits between them. Benchmarks/run.sh measures it as `epoll-floor` beside
// `nio-floor`, so the churn gap splits into "Swift" and "SwiftNIO's channel layer".
//
// The relay rules are the tee's: a direction reads only what the other side has taken (at most one
// 64 KiB buffer per direction waits for the peer to become writable), half-close is passed on with
// shutdown(SHUT_WR), and a connection closes when both directions are done. Edge-triggered epoll:
// two epoll_ctl calls per relayed connection (one per socket), none per read.
// Benchmark tool only: no timeouts, no limits, one thread.
//
//   epoll-floor LISTEN_PORT TARGET_PORT [LISTEN_PORT TARGET_PORT ...]   (127.0.0.1)
#if canImport(Glibc)
import CEpoll
import Glibc

let bufferSize = 64 * 1024

/// One direction of a relayed connection: bytes read from `from`, written to `to`.
struct Direction {
    var pending: UnsafeMutableRawBufferPointer
    var start = 0
    var end = 0
    var sawEOF = false
    var shutDown = false
    var done: Bool { self.shutDown }
}

final class Connection {
    let client: Int32
    let server: Int32
    var connected = false
    var up: Direction  // client -> server
    var down: Direction  // server -> client

    init(client: Int32, server: Int32) {
        self.client = client
        self.server = server
        self.up = Direction(pending: .allocate(byteCount: bufferSize, alignment: 16))
        self.down = Direction(pending: .allocate(byteCount: bufferSize, alignment: 16))
    }

    deinit {
        self.up.pending.deallocate()
        self.down.pending.deallocate()
    }
}

/// Moves bytes from `from` to `to` until the source would block, the destination is full, or EOF.
/// Returns false on an error (the connection is then closed).
func pump(_ d: inout Direction, from: Int32, to: Int32, toReady: Bool) -> Bool {
    while true {
        if d.start < d.end {
            guard toReady else { return true }
            let n = write(to, d.pending.baseAddress! + d.start, d.end - d.start)
            if n < 0 { return errno == EAGAIN }
            d.start += n
            if d.start < d.end { return true }  // destination full: wait for EPOLLOUT, read nothing more
            d.start = 0
            d.end = 0
        }
        if d.sawEOF {
            if !d.shutDown {
                shutdown(to, Int32(SHUT_WR))
                d.shutDown = true
            }
            return true
        }
        let n = read(from, d.pending.baseAddress!, bufferSize)
        if n > 0 {
            d.end = n
        } else if n == 0 {
            d.sawEOF = true
        } else {
            return errno == EAGAIN
        }
    }
}

let arguments = CommandLine.arguments.dropFirst().compactMap { Int($0) }
precondition(arguments.count >= 2 && arguments.count % 2 == 0, "usage: epoll-floor LISTEN TARGET [LISTEN TARGET ...]")
signal(SIGPIPE, SIG_IGN)
let epfd = epoll_create1(Int32(EPOLL_CLOEXEC))

func inetAddress(port: Int) -> sockaddr_in {
    var a = sockaddr_in()
    a.sin_family = sa_family_t(AF_INET)
    a.sin_port = in_port_t(UInt16(port).bigEndian)
    a.sin_addr.s_addr = inet_addr("127.0.0.1")
    return a
}

// Listening sockets: fd -> target address. Connections: fd -> connection (both of its fds).
var targets: [Int32: sockaddr_in] = [:]
var connections: [Int32: Connection] = [:]

@MainActor func add(_ fd: Int32, _ events: UInt32) {
    var ev = epoll_event()
    ev.events = events
    ev.data.fd = fd
    epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev)
}

for pair in stride(from: 0, to: arguments.count, by: 2) {
    let fd = socket(
        AF_INET,
        Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue),
        0
    )
    var one: Int32 = 1
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
    var address = inetAddress(port: arguments[pair])
    let bound = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    precondition(bound == 0 && listen(fd, 4096) == 0, "cannot listen on \(arguments[pair])")
    targets[fd] = inetAddress(port: arguments[pair + 1])
    add(fd, UInt32(EPOLLIN.rawValue))
}
print("epoll-floor listening on \(arguments.count / 2) port(s)")

@MainActor func closeConnection(_ c: Connection) {
    connections[c.client] = nil
    connections[c.server] = nil
    close(c.client)
    close(c.server)
}

@MainActor func service(_ c: Connection) {
    let ok =
        pump(&c.up, from: c.client, to: c.server, toReady: c.connected)
        && pump(&c.down, from: c.server, to: c.client, toReady: true)
    if !ok || (c.up.done && c.down.done) { closeConnection(c) }
}

let edge = UInt32(EPOLLIN.rawValue) | UInt32(EPOLLOUT.rawValue) | UInt32(EPOLLRDHUP.rawValue) | UInt32(EPOLLET.rawValue)
var events = [epoll_event](repeating: epoll_event(), count: 256)
while true {
    let n = epoll_wait(epfd, &events, Int32(events.count), -1)
    if n < 0 { if errno == EINTR { continue } else { break } }
    for i in 0..<Int(n) {
        let fd = events[i].data.fd
        if var target = targets[fd] {
            while true {
                let client = cepoll_accept4(fd, Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue))
                if client < 0 { break }
                let server = socket(
                    AF_INET,
                    Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue),
                    0
                )
                var one: Int32 = 1
                setsockopt(server, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
                let rc = withUnsafePointer(to: &target) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                        connect(server, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                    }
                }
                if rc < 0 && errno != EINPROGRESS {
                    close(client)
                    close(server)
                    continue
                }
                let c = Connection(client: client, server: server)
                c.connected = rc == 0
                connections[client] = c
                connections[server] = c
                add(client, edge)
                add(server, edge)
            }
            continue
        }
        guard let c = connections[fd] else { continue }
        if fd == c.server && !c.connected {
            var error: Int32 = 0
            var length = socklen_t(MemoryLayout<Int32>.size)
            getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length)
            if error != 0 {
                closeConnection(c)
                continue
            }
            c.connected = true
        }
        service(c)
    }
}
#else
print("epoll-floor needs Linux")
#endif
