import Foundation
import Tee
import ZabbixProtocol

/// `zabbix-tee decode --summary`: what a set of recordings decodes to, per request type and the
/// Zabbix version its senders announced — a table to attach to an upgrade plan ("after the
/// upgrade, do our agents' values still decode, resolve and get accepted?").
struct DecodeSummary {
    private var rows: [DecodeStatistics.SummaryKey: DecodeStatistics.SummaryCounts] = [:]
    private var recordings = 0
    private var tls = 0
    private var frames: [String: Int] = [:]
    private var failures: [String: Int] = [:]
    private var redirects = 0

    mutating func add(_ result: CaptureDecoder.Result) {
        self.recordings += 1
        let statistics = result.statistics
        self.tls += statistics.tlsConnectionCount
        for (key, counts) in statistics.summary {
            self.rows[key, default: .init()].add(counts)
        }
        for (kind, count) in statistics.framesDecoded { self.frames[kind.message, default: 0] += count }
        for (reason, count) in statistics.failures where count > 0 {
            self.failures[reason.rawValue, default: 0] += count
        }
        self.redirects += statistics.redirects.values.reduce(0, +)
    }

    /// The table, one line per request type and version, then the totals of what carried no values.
    var text: String {
        let header = [
            "request", "version", "decoded", "accepted", "partial", "rejected", "unanswered", "duplicates", "resolved",
            "unresolved",
        ]
        var table = [header]
        for (key, counts) in self.rows.sorted(by: { $0.key < $1.key }) {
            table.append([
                key.request, key.version, "\(counts.decoded)", "\(counts.accepted)", "\(counts.partial)",
                "\(counts.rejected)",
                "\(counts.unanswered)", "\(counts.duplicates)", "\(counts.resolved)", "\(counts.unresolved)",
            ])
        }
        let widths = header.indices.map { column in table.map { $0[column].count }.max() ?? 0 }
        var lines = table.map { row in
            row.indices.map { column in
                column < 2
                    ? row[column].padding(toLength: widths[column], withPad: " ", startingAt: 0)
                    : String(repeating: " ", count: widths[column] - row[column].count) + row[column]
            }.joined(separator: "  ")
        }
        lines.append("")
        lines.append("recordings: \(self.recordings), TLS (not decodable): \(self.tls), redirects: \(self.redirects)")
        let frames = self.frames.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
        lines.append("frames: \(frames.isEmpty ? "none" : frames)")
        if !self.failures.isEmpty {
            lines.append(
                "not decoded: "
                    + self.failures.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
            )
        }
        lines.append(
            """
            decoded: values read (duplicates removed); accepted: the reply said stored (partial: in batches \
            with failed rows); rejected: the server refused them; unanswered: no readable reply; resolved / \
            unresolved: itemid-only values the item catalog could / could not name; version "-": the sender \
            announces none (zabbix_sender, agentd before 7.0).
            """
        )
        return lines.joined(separator: "\n") + "\n"
    }
}

extension DecodeStatistics.SummaryCounts {
    mutating func add(_ other: Self) {
        self.decoded += other.decoded
        self.duplicates += other.duplicates
        self.accepted += other.accepted
        self.partial += other.partial
        self.rejected += other.rejected
        self.unanswered += other.unanswered
        self.resolved += other.resolved
        self.unresolved += other.unresolved
    }
}
