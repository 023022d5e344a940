import Foundation
import NIOCore
import Riemann
import Tee
import ZabbixProtocol

/// The side pipeline's stages, each on its own, and the whole chain, as the worker runs them
/// (SideWorker.decode + RiemannSink + the Riemann client's batch encoding).
struct Stages {
    let workload: Workload
    let mapper = EventMapper(configuration: MappingConfiguration())
    let inflater = ZabbixInflater()
    let frames: [ZabbixFrame]
    let payloads: [ByteBuffer]
    let itemValues: [ItemValue]
    let decodedValues: [DecodedValue]
    let events: [RiemannEvent]
    /// The Riemann client sends up to this many queued events per `Msg` (its default
    /// `maximumBatchEvents`), whatever frames they came from.
    static let batchEvents = 500
    /// `events` repeated up to one full batch.
    let batch: [RiemannEvent]
    let seenAt = Int64(1_795_236_262_000_000)

    init(_ workload: Workload) {
        self.workload = workload
        self.frames = workload.frames
        self.payloads = workload.payloads
        self.itemValues = workload.itemValues
        let mapper = self.mapper
        let seenAt = self.seenAt
        let decoded = self.itemValues.map {
            Self.resolve(
                DecodedValue(value: $0, listener: workload.listener, connection: 1, seenAtMicros: seenAt),
                in: workload.catalog
            )
        }
        self.decodedValues = decoded
        self.events = decoded.compactMap { try? mapper.event(for: $0).get() }
        var batch: [RiemannEvent] = []
        while batch.count < Self.batchEvents && !self.events.isEmpty { batch += self.events }
        self.batch = batch
    }

    var valueCount: Int { self.itemValues.count }

    /// What ItemCatalogStore.resolve does per value (without its lock).
    @inline(__always)
    static func resolve(_ decoded: DecodedValue, in catalog: ItemCatalog) -> DecodedValue {
        var decoded = decoded
        if decoded.value.itemid != nil, decoded.value.key == nil || decoded.value.host == nil {
            decoded.value = catalog.resolved(decoded.value, listener: decoded.listener)
            if let entry = catalog.entry(for: decoded.value, listener: decoded.listener) {
                decoded.valueType = entry.valueType
            }
        }
        return decoded
    }

    // MARK: Stages

    /// ZBXD framing: one connection's decoder cuts the client's bytes into frames.
    func frameDecode() {
        var decoder = ZabbixFrameDecoder()
        var count = 0
        decoder.feed(self.workload.stream) { if case .frame = $0 { count += 1 } }
        blackHole(count)
    }

    /// zlib for compressed frames (flags 0x03), a view of the payload otherwise.
    func inflate() {
        for frame in self.frames { blackHole(try! self.inflater.decodedPayload(of: frame)) }
    }

    /// JSON parse + message classification + item values.
    func jsonDecode() {
        var conversation = ZabbixConversation()
        for payload in self.payloads {
            blackHole(try! conversation.decode(payload, from: .client).itemValues)
        }
    }

    /// itemid → host/key (agent 2, proxies); a check of two fields for agentd's host/key rows.
    func catalogLookup() {
        for value in self.decodedValues { blackHole(Self.resolve(value, in: self.workload.catalog)) }
    }

    /// Item value → Riemann event (default mapping: service = key, zabbix_* attributes).
    func mapping() {
        for value in self.decodedValues { blackHole(self.mapper.event(for: value)) }
    }

    /// A batch of events (``batchEvents``, as the Riemann client sends them) → one
    /// length-prefixed protobuf `Msg` frame (protobuf-c), into a reused buffer.
    func protobufEncode(into buffer: inout ByteBuffer) {
        buffer.clear()
        try! RiemannMessageCodec.encodeFrame(events: self.batch, into: &buffer)  // 500 events: far below any limit
    }

    /// Everything from the client's bytes to encoded events; `events` carries the events not yet
    /// encoded from one call to the next, encoded in batches of ``batchEvents``.
    func chain(into buffer: inout ByteBuffer, pending events: inout [RiemannEvent]) {
        var decoder = ZabbixFrameDecoder()
        var conversation = ZabbixConversation()
        var duplicates = DuplicateFilter()
        let workload = self.workload
        decoder.feed(workload.stream) { event in
            guard case .frame(let frame) = event else { return }
            let payload = try! self.inflater.decodedPayload(of: frame)
            let message = try! conversation.decode(payload, from: .client)
            let values = duplicates.filter(message.itemValues)
            let seenAt = Int64(Date().timeIntervalSince1970 * 1_000_000)
            events.reserveCapacity(events.count + values.count)
            for value in values {
                let decoded = Self.resolve(
                    DecodedValue(value: value, listener: workload.listener, connection: 1, seenAtMicros: seenAt),
                    in: workload.catalog
                )
                if case .success(let event) = self.mapper.event(for: decoded) { events.append(event) }
            }
        }
        if events.count >= Self.batchEvents {
            buffer.clear()
            try! RiemannMessageCodec.encodeFrame(events: events, into: &buffer)
            events.removeAll(keepingCapacity: true)
        }
    }

    /// The tee's own decode path for recorded traffic (ConnectionDecoder, ItemCatalogStore with its
    /// lock, DecodeStatistics, DuplicateFilter, holding the values until the server's reply), from
    /// the exchange's bytes to accepted, resolved values; no mapping.
    func teeDecodePath(_ bytes: [UInt8]) {
        let decoder = CaptureDecoder(listener: self.workload.listener, catalog: self.workload.catalogStore)
        blackHole(decoder.decode(client: bytes, server: self.workload.reply).values.count)
    }

    // MARK: Baselines (same bytes, same run)

    /// memcpy of the client's bytes: the floor for anything that touches every byte once.
    func memcpyBaseline(into scratch: UnsafeMutableRawBufferPointer) {
        self.workload.stream.withUnsafeReadableBytes { bytes in
            scratch.baseAddress!.copyMemory(from: bytes.baseAddress!, byteCount: bytes.count)
        }
        blackHole(scratch.baseAddress)
    }

    /// Foundation's JSONSerialization on the same payloads: a general-purpose JSON parser.
    func jsonSerializationBaseline() {
        for payload in self.payloads {
            let data = Data(payload.readableBytesView)
            blackHole(try! JSONSerialization.jsonObject(with: data))
        }
    }
}
