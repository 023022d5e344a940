import NIOCore
import NIOHTTP1
import NIOPosix

/// The endpoints of the admin server and what they answer. Shared by every connection.
struct AdminRoutes: Sendable {
    /// One endpoint of the admin server.
    enum Endpoint: Sendable {
        case status
        case metrics
        case health
        case ready
    }

    /// A complete response. `body` is also measured for `HEAD`, which sends no body.
    struct Response: Sendable {
        var status: HTTPResponseStatus
        var contentType = "text/plain; charset=utf-8"
        var extraHeaders: [(String, String)] = []
        var body: String
    }

    let exporter: MetricsExporter
    let statusPage: StatusPageEndpoint
    let healthy: @Sendable () -> Bool
    let ready: @Sendable () -> AdminServer.Readiness
    /// Where `/metrics` is rendered, so a slow source never holds up an event loop.
    let threadPool: NIOThreadPool

    /// The endpoint for a request target; the query string is ignored.
    static func endpoint(for uri: String) -> Endpoint? {
        let path = uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
        switch path {
        case "/": return .status
        case "/metrics": return .metrics
        case "/health": return .health
        case "/ready": return .ready
        default: return nil
        }
    }

    /// The response to `head`: 404 for unknown paths, 405 for methods other than GET and HEAD,
    /// else the endpoint's answer. Only `/` and `/metrics` do real work, on the thread pool.
    func respond(to head: HTTPRequestHead, on eventLoop: any EventLoop) -> EventLoopFuture<Response> {
        guard let endpoint = Self.endpoint(for: head.uri) else {
            return eventLoop.makeSucceededFuture(Response(status: .notFound, body: "not found\n"))
        }
        guard head.method == .GET || head.method == .HEAD else {
            return eventLoop.makeSucceededFuture(
                Response(
                    status: .methodNotAllowed,
                    extraHeaders: [("Allow", "GET, HEAD")],
                    body: "method not allowed\n"
                )
            )
        }
        switch endpoint {
        case .health:
            return eventLoop.makeSucceededFuture(
                self.healthy()
                    ? Response(status: .ok, body: "ok\n") : Response(status: .serviceUnavailable, body: "unhealthy\n")
            )
        case .ready:
            let readiness = self.ready()
            return eventLoop.makeSucceededFuture(
                readiness.isReady
                    ? Response(status: .ok, body: "ok\n")
                    : Response(
                        status: .serviceUnavailable,
                        body: "not ready\n" + readiness.problems.map { $0 + "\n" }.joined()
                    )
            )
        case .metrics:
            let exporter = self.exporter
            return self.offLoop(on: eventLoop) {
                Response(status: .ok, contentType: PrometheusTextWriter.contentType, body: exporter.render())
            }
        case .status:
            let statusPage = self.statusPage
            let uri = head.uri
            return self.offLoop(on: eventLoop) {
                Response(
                    status: .ok,
                    contentType: StatusPage.contentType,
                    extraHeaders: StatusPageEndpoint.headers,
                    body: statusPage.render(uri: uri)
                )
            }
        }
    }

    /// Runs `body` on the thread pool (sources may be slow); `503` once the pool is shut down.
    private func offLoop(
        on eventLoop: any EventLoop,
        _ body: @escaping @Sendable () -> Response
    ) -> EventLoopFuture<Response> {
        self.threadPool.runIfActive(eventLoop: eventLoop, body).flatMapErrorThrowing { _ in
            Response(status: .serviceUnavailable, body: "shutting down\n")
        }
    }
}
