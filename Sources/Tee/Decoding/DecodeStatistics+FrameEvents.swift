import ZabbixProtocol

extension DecodeStatistics {
    /// Counts what a frame event that delivers no frame means for decoding: an oversized frame
    /// skipped, a TLS connection, a stream cut inside a frame, or bytes that are not ZBXD framing.
    /// A delivered frame counts nothing here (what becomes of it is counted where it is decoded).
    ///
    /// The one table from ``ZabbixFrameEvent`` to the decode counters, for the live tap and for
    /// decoding recordings alike, so that `decode --summary` and `/metrics` name the same things.
    func count(_ event: ZabbixFrameEvent) {
        switch event {
        case .frame: break
        case .skipped: self.failed(.oversized)
        case .tls: self.tlsConnection()
        case .notZabbix(.truncated): self.failed(.truncated)
        case .notZabbix: self.failed(.notZabbix)
        }
    }
}
