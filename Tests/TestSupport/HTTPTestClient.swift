#if canImport(Glibc)
import Glibc
#endif

/// A minimal blocking HTTP/1.1 client for the admin server tests (one socket, several requests).
/// Used by one thread at a time; handed between threads only while idle.
public final class HTTPTestClient: @unchecked Sendable {
    public struct Response: Sendable {
        public var status: Int
        public var headers: [(name: String, value: String)]
        public var body: String

        public func header(_ name: String) -> String? {
            self.headers.first { $0.name.lowercased() == name.lowercased() }?.value
        }
    }

    public struct ProtocolError: Error, CustomStringConvertible {
        public var description: String
    }

    public let socket: BlockingSocket

    public init(port: Int) throws {
        self.socket = try BlockingSocket.connect(port: port)
        self.socket.setReceiveTimeout(seconds: 10)
    }

    deinit {
        self.socket.close()
    }

    /// Sends a request and reads one response (bodies per Content-Length; none for HEAD).
    public func request(
        _ method: String = "GET",
        _ path: String,
        headers: [String] = [],
        body: String = "",
        version: String = "HTTP/1.1"
    ) throws -> Response {
        var request = "\(method) \(path) \(version)\r\nHost: localhost\r\n"
        for header in headers { request += header + "\r\n" }
        if !body.isEmpty { request += "Content-Length: \(body.utf8.count)\r\n" }
        request += "\r\n" + body
        try self.socket.send(request)
        return try self.readResponse(hasBody: method != "HEAD")
    }

    /// Bytes read past the end of the previous response.
    private var buffered: [UInt8] = []

    public func readResponse(hasBody: Bool = true) throws -> Response {
        var bytes = self.buffered
        let separator: [UInt8] = Array("\r\n\r\n".utf8)
        var headerEnd: Int?
        while headerEnd == nil {
            if let index = Self.find(separator, in: bytes) {
                headerEnd = index
                break
            }
            let chunk = try self.socket.receive()
            guard !chunk.isEmpty else { throw ProtocolError(description: "connection closed before a response head") }
            bytes += chunk
        }
        let headText = String(decoding: bytes[..<headerEnd!], as: UTF8.self)
        var lines = headText.split(separator: "\r\n", omittingEmptySubsequences: false).map(String.init)
        let statusLine = lines.removeFirst().split(separator: " ")
        guard statusLine.count >= 2, let status = Int(statusLine[1]) else {
            throw ProtocolError(description: "bad status line in \(headText)")
        }
        let headers = lines.compactMap { line -> (String, String)? in
            guard let colon = line.firstIndex(of: ":") else { return nil }
            return (String(line[..<colon]), line[line.index(after: colon)...].trimmingCharacters(in: " "))
        }
        bytes.removeFirst(headerEnd! + separator.count)
        let length = hasBody ? Int(headers.first { $0.0.lowercased() == "content-length" }?.1 ?? "0") ?? 0 : 0
        while bytes.count < length {
            let chunk = try self.socket.receive()
            guard !chunk.isEmpty else { throw ProtocolError(description: "connection closed inside a body") }
            bytes += chunk
        }
        let body = String(decoding: bytes[..<length], as: UTF8.self)
        bytes.removeFirst(length)
        self.buffered = bytes
        return Response(status: status, headers: headers.map { (name: $0.0, value: $0.1) }, body: body)
    }

    /// True if the server closed the connection (end of stream) within the receive timeout.
    /// A reset (the server closed with our unread request bytes still queued) counts as closed.
    public func isClosedByServer() -> Bool {
        do {
            return try self.socket.receive().isEmpty
        } catch let failure as BlockingSocket.Failure {
            return failure.errno == ECONNRESET
        } catch {
            return false
        }
    }

    private static func find(_ needle: [UInt8], in haystack: [UInt8]) -> Int? {
        guard haystack.count >= needle.count else { return nil }
        for start in 0...(haystack.count - needle.count)
        where haystack[start..<start + needle.count].elementsEqual(needle) {
            return start
        }
        return nil
    }

    /// One request on a fresh connection, on a thread of its own (blocking I/O stays off the
    /// cooperative pool).
    public static func get(port: Int, _ path: String, method: String = "GET") async throws -> Response {
        try await TestThreads.start {
            let client = try HTTPTestClient(port: port)
            return try client.request(method, path)
        }.value
    }
}

extension String {
    fileprivate func trimmingCharacters(in character: Character) -> String {
        String(self.drop { $0 == character }.reversed().drop { $0 == character }.reversed())
    }
}

extension Substring {
    fileprivate func trimmingCharacters(in character: Character) -> String {
        String(self).trimmingCharacters(in: character)
    }
}
