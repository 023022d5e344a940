import NIOCore

/// How much decoding one connection may ask of its worker: a token bucket of decoded bytes (the
/// inflated size of compressed frames, which is also what inflating and parsing cost in CPU).
///
/// A Zabbix connection carries one exchange — a request and its reply — so it never needs more
/// than two frames of the largest size at once (``burst``), and a frame of the largest size per
/// second after that is far more than any agent, sender or proxy sends on one connection. A
/// client that sends more (zlib bombs of the largest size in a loop, pipelined requests) has its
/// extra frames dropped before they are queued and counted, so it cannot keep a worker busy at
/// the expense of other connections. Relaying is unaffected.
///
/// A pure state machine: time comes in as `now`.
struct ConnectionDecodeShare {
    /// Decoded bytes a fresh connection may send at once: two frames of the largest size.
    let burst: Int
    /// Decoded bytes per second earned back: one frame of the largest size.
    let perSecond: Int
    private var tokens: Int
    private var updated: NIODeadline

    init(maximumFrameSize: Int, now: NIODeadline) {
        let frame = max(1, maximumFrameSize)
        self.burst = frame.multipliedReportingOverflow(by: 2).overflow ? .max : frame * 2
        self.perSecond = frame
        self.tokens = self.burst
        self.updated = now
    }

    /// Whether a frame that decodes to `bytes` may be decoded now; takes them from the share.
    mutating func admit(_ bytes: Int, now: NIODeadline) -> Bool {
        if now > self.updated {
            let seconds = Double((now - self.updated).nanoseconds) / 1e9
            let earned = seconds * Double(self.perSecond)
            let room = self.burst - self.tokens
            self.tokens = earned >= Double(room) ? self.burst : self.tokens + min(room, Int(earned))
            self.updated = now
        }
        guard bytes <= self.tokens else { return false }
        self.tokens -= bytes
        return true
    }
}
