import Foundation
import Logging

/// One JSON object per line: `{"time":…,"level":…,"label":…,"message":…,…metadata}`.
/// Selected with `zabbix-tee run --log-format json`, for log shippers. Lines go through a
/// ``LogWriter`` (standard error by default), so a full or closed output drops and counts lines
/// instead of blocking or killing the process.
public struct JSONLogHandler: LogHandler {
    public var logLevel: Logger.Level
    public var metadata: Logger.Metadata = [:]
    private let label: String
    private let writer: LogWriter

    public init(label: String, level: Logger.Level, writer: LogWriter = .standardError) {
        self.label = label
        self.logLevel = level
        self.writer = writer
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { self.metadata[key] }
        set { self.metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var object: [String: String] = [
            "time": Self.timestamp(), "level": event.level.rawValue, "label": self.label,
            "message": event.message.description,
        ]
        for (key, value) in self.metadata { object[key] = "\(value)" }
        for (key, value) in event.metadata ?? [:] { object[key] = "\(value)" }
        if !event.source.isEmpty { object["source"] = event.source }
        guard
            let data = try? JSONSerialization.data(
                withJSONObject: object,
                options: [.sortedKeys, .withoutEscapingSlashes]
            )
        else {
            return
        }
        var line = [UInt8](data)
        line.append(0x0A)
        self.writer.write(line: line)
    }

    private static func timestamp() -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.string(from: Date())
    }
}

/// The log handlers of `zabbix-tee run`, both writing through ``LogWriter/standardError``.
public enum TeeLogHandlers {
    /// `--log-format`.
    public enum Format: String, Sendable, CaseIterable {
        /// swift-log's `StreamLogHandler` line format: `2024-05-01T10:00:00+0000 info zabbix-tee: key=value [Tee] message`.
        case text
        /// ``JSONLogHandler``.
        case json
    }

    /// A handler for `label` at `level` in `format`, writing to `writer`.
    public static func make(
        label: String,
        level: Logger.Level,
        format: Format,
        writer: LogWriter = .standardError
    ) -> any LogHandler {
        switch format {
        case .json:
            return JSONLogHandler(label: label, level: level, writer: writer)
        case .text:
            var handler = StreamLogHandler(label: label, stream: LogWriter.Stream(writer))
            handler.logLevel = level
            return handler
        }
    }
}
