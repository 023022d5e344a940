/// Reads a Prometheus text exposition from `http://127.0.0.1:PORT/metrics` (the tee's admin
/// endpoint) with a plain socket, and looks samples up by name and labels.
public struct MetricsScrape: Sendable {
    /// `name{labels}` (labels as written) → value.
    public let samples: [String: Double]
    public let text: String

    public static func get(port: Int, path: String = "/metrics") throws -> MetricsScrape {
        let socket = try BlockingSocket.connect(port: port)
        socket.setReceiveTimeout(seconds: 10)
        try socket.send("GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        let response = String(decoding: try socket.receiveAll(), as: UTF8.self)
        socket.close()
        let body = response.components(separatedBy: "\r\n\r\n").dropFirst().joined(separator: "\r\n\r\n")
        var samples: [String: Double] = [:]
        for line in body.split(separator: "\n") where !line.hasPrefix("#") {
            guard let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...]) else {
                continue
            }
            samples[String(line[..<space])] = value
        }
        return MetricsScrape(samples: samples, text: body)
    }

    /// The value of `name` with exactly these labels (in the order the tee writes them), or 0.
    public func value(_ name: String, _ labels: [(String, String)] = []) -> Double {
        let key = labels.isEmpty ? name : name + "{" + labels.map { "\($0.0)=\"\($0.1)\"" }.joined(separator: ",") + "}"
        return self.samples[key] ?? 0
    }
}
