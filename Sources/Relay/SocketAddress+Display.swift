import NIOCore

extension SocketAddress {
    /// `127.0.0.1:10051` or `[::1]:10051`, for logs (NIO's own description repeats the host).
    public var displayText: String {
        guard let ip = self.ipAddress, let port = self.port else { return "\(self)" }
        if case .v6 = self { return "[\(ip)]:\(port)" }
        return "\(ip):\(port)"
    }
}
