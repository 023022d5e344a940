import Admin

/// `/metrics` samples of the tee's writers other than the catalog (which the decode source
/// reports): the log output and the recordings.
struct WriterMetricsSource: MetricsSource {
    let log: LogWriter
    let recordings: RecordingStatistics

    func collect(into snapshot: inout MetricsSnapshot) {
        snapshot.counter(
            "zabbix_tee_log_lines_dropped_total",
            help: "Log lines dropped because standard error was full, slow or closed (the process carries on).",
            value: self.log.droppedLines
        )
        for (listener, counts) in self.recordings.byListener.sorted(by: { $0.key < $1.key }) {
            let labels = [MetricsSnapshot.Label("listener", listener)]
            for (result, value) in [("complete", counts.complete), ("incomplete", counts.incomplete)] {
                snapshot.counter(
                    "zabbix_tee_recordings_total",
                    help: "Connection recordings finished, by whether every byte is in them.",
                    labels: labels + [.init("result", result)],
                    value: value
                )
            }
            snapshot.counter(
                "zabbix_tee_recording_write_errors_total",
                help:
                    "Recording writes that failed (ENOSPC, EIO...); each stops its recording. Relaying is unaffected.",
                labels: labels,
                value: counts.writeErrors
            )
            for reason in RecordingStatistics.SkipReason.allCases {
                snapshot.counter(
                    "zabbix_tee_recordings_skipped_total",
                    help:
                        "Connections not recorded: record.max_bytes/max_files reached (limit), or the directory or files could not be used (error).",
                    labels: labels + [.init("reason", reason.rawValue)],
                    value: counts.skipped[reason] ?? 0
                )
            }
        }
    }
}
