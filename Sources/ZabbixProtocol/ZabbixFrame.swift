import NIOCore

/// One complete `ZBXD` frame: its header and its payload as it appeared on the wire (still
/// compressed when ``ZabbixFrameHeader/isCompressed`` is set; see ``ZabbixInflater``).
public struct ZabbixFrame: Sendable, Equatable {
    /// The frame header.
    public var header: ZabbixFrameHeader
    /// The `datalen` payload bytes. When the frame arrived within one input buffer this is a slice
    /// of that buffer (no bytes copied).
    public var payload: ByteBuffer

    @inlinable
    public init(header: ZabbixFrameHeader, payload: ByteBuffer) {
        self.header = header
        self.payload = payload
    }
}

/// What a ``ZabbixFrameDecoder`` reports.
public enum ZabbixFrameEvent: Sendable, Equatable {
    /// A complete frame.
    case frame(ZabbixFrame)
    /// A frame whose `datalen` (or, when compressed, `reserved`) exceeds
    /// ``ZabbixFrameDecoder/maximumFrameSize``. Reported as soon as its header is read; its
    /// payload bytes are then passed over without being buffered and decoding resumes at the next
    /// frame.
    case skipped(ZabbixFrameHeader)
    /// The first byte of the stream is `0x16`, a TLS handshake record. Nothing more is decoded.
    case tls
    /// The stream is not (or is no longer) `ZBXD` framing. Nothing more is decoded.
    case notZabbix(ZabbixNotZabbixReason)
}
