/// How a ``RiemannClient`` puts events on the wire.
///
/// The queue, batching, in-flight window, timeouts, backoff, failover and shutdown drain are the
/// same facts for every output (``RiemannConnectionStateMachine``); only the bytes and what
/// counts as delivered differ.
public enum EventWireFormat: String, Sendable, Hashable {
    /// Riemann's protobuf `Msg` frames; a message is delivered when Riemann answers `ok=true`.
    case riemann
    /// Graphite's plaintext protocol, one `path value timestamp\n` line per event with a metric
    /// (``GraphitePlaintext``): the path is the event's `service`. Carbon never answers, so a batch
    /// counts as delivered ("acknowledged") once its write completed — the bytes are in the
    /// kernel's send buffer. A batch whose write has not completed when the connection is lost, or
    /// within the acknowledgement timeout (carbon stopped reading), is queued again and resent;
    /// bytes the kernel had taken before a connection loss may be lost (carbon keeps the last
    /// value per path and timestamp, so a resent line is harmless).
    case graphitePlaintext
    /// Graphite's pickle protocol (``GraphitePickle``), with the same delivery rules as
    /// ``graphitePlaintext``.
    case graphitePickle

    /// The peer's name in log lines: `Riemann`, `Graphite`.
    var title: String {
        switch self {
        case .riemann: "Riemann"
        case .graphitePlaintext, .graphitePickle: "Graphite"
        }
    }
}
