import NIOCore
import Relay
import Riemann

/// The `graphite:` section. Every key needs a restart (the client is started once). Batching,
/// queue and reconnect are the Riemann client's own tables: the same client runs both outputs.
extension GraphiteConfiguration {
    static var table: ConfigTable<GraphiteConfiguration> {
        ConfigTable(
            [
                .servers(
                    \.client.servers,
                    .restart,
                    "carbon line receivers (usually port 2003), in order of preference",
                    example: "carbon line receivers, e.g. [\"graphite:2003\"]"
                ),
                .choice(
                    "protocol",
                    \.wireProtocol,
                    .restart,
                    "plaintext (lines, carbon port 2003) or pickle (frames, port 2004)"
                ),
                .string(
                    "prefix",
                    \.prefix,
                    nonEmpty: false,
                    .restart,
                    "put, with a dot, in front of every path (empty: nothing)"
                ),
                .value(
                    "path",
                    \.path,
                    .restart,
                    "a value's path: placeholders and filters as in mapping.service",
                    parse: ServiceTemplate.read,
                    print: { ConfigText.quoted($0.description) }
                ),
                .table(
                    "batch",
                    \.client,
                    RiemannClientConfiguration.batchTable,
                    .inline,
                    .restart,
                    "how lines are grouped into writes"
                ),
                .table(
                    "queue",
                    \.client,
                    RiemannClientConfiguration.queueTable,
                    .inline,
                    .restart,
                    "lines waiting to be written"
                ),
                .duration(
                    "write_timeout",
                    \.client.acknowledgementTimeout,
                    atLeast: .milliseconds(10),
                    .restart,
                    "a write carbon has not taken by then closes the connection; its lines are sent again"
                ),
                .duration(
                    "connect_timeout",
                    \.client.connectTimeout,
                    atLeast: .milliseconds(1),
                    .restart,
                    "connecting to a server, before trying the next"
                ),
                .table(
                    "reconnect",
                    \.client,
                    RiemannClientConfiguration.reconnectTable,
                    .inline,
                    .restart,
                    "back-off between connection attempts"
                ),
                .duration(
                    "flush_timeout",
                    \.flushTimeout,
                    .restart,
                    "how long a shutdown waits for queued lines to be written"
                ),
            ],
            validate: { (node, graphite, _) throws(ConfigError) in try graphite.client.checkQueueHoldsABatch(node) }
        )
    }
}
