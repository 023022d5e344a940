import Foundation
import NIOCore
import Tee
import ZabbixProtocol

/// Agent data the stages are measured on: the client side of a recorded connection (Fixtures/),
/// or the frame the churn benchmark sends, with the item catalog its itemids need.
struct Workload {
    var name: String
    /// The client's bytes: ZBXD frames back to back.
    var stream: ByteBuffer
    /// The catalog learned from the fixture named in `meta.json`'s `catalog` (empty if none).
    var catalog: ItemCatalog
    /// The same knowledge as a ``ItemCatalogStore``, for the tee's own decode path.
    var catalogStore: ItemCatalogStore? = nil
    /// The server's reply: the tee emits a request's values once the reply accepts them, so its
    /// own decode path is measured on the exchange, request and reply.
    var reply: [UInt8] = []
    let listener = "fixture"

    /// Frames of `stream`, cut once.
    var frames: [ZabbixFrame] {
        var decoder = ZabbixFrameDecoder()
        var frames: [ZabbixFrame] = []
        decoder.feed(self.stream) { if case .frame(let frame) = $0 { frames.append(frame) } }
        return frames
    }

    /// Inflated payloads of `frames`.
    var payloads: [ByteBuffer] {
        let inflater = ZabbixInflater()
        return self.frames.map { try! inflater.decodedPayload(of: $0) }
    }

    /// Item values of the client's frames, as the JSON stage gives them.
    var itemValues: [ItemValue] {
        var conversation = ZabbixConversation()
        return self.payloads.flatMap { try! conversation.decode($0, from: .client).itemValues }
    }

    /// One recorded connection of Fixtures/.
    static func fixture(_ name: String, in directory: URL) throws -> Workload {
        let folder = directory.appendingPathComponent(name)
        let client = try Data(contentsOf: folder.appendingPathComponent("client.bin"))
        let reply = [UInt8](try Data(contentsOf: folder.appendingPathComponent("server.bin")))
        var catalog = ItemCatalog()
        let meta = try JSONSerialization.jsonObject(with: Data(contentsOf: folder.appendingPathComponent("meta.json")))
        if let teacher = (meta as? [String: Any])?["catalog"] as? String {
            let teacherFolder = directory.appendingPathComponent(teacher)
            let store = ItemCatalogStore(
                maximumEntries: 1_000_000,
                maximumPendingValues: 0,
                pendingTimeout: .seconds(1)
            )
            _ = CaptureDecoder(listener: "fixture", catalog: store).decode(
                client: [UInt8](try Data(contentsOf: teacherFolder.appendingPathComponent("client.bin"))),
                server: [UInt8](try Data(contentsOf: teacherFolder.appendingPathComponent("server.bin")))
            )
            catalog = store.snapshot
            return Workload(
                name: name,
                stream: ByteBuffer(bytes: client),
                catalog: catalog,
                catalogStore: store,
                reply: reply
            )
        }
        return Workload(name: name, stream: ByteBuffer(bytes: client), catalog: catalog, reply: reply)
    }

    /// The frame `zbxload churn` sends: a zabbix_agentd 6.0 active agent's one-value upload (328 B).
    static var churnFrame: Workload {
        let json =
            #"{"request":"agent data","session":"6e7bd1bd1a3e9c4b2d0f5a8c00000007","data":[{"host":"bench-agent-0007.example.net","key":"system.cpu.load[all,avg1]","value":"0.000007","id":1,"clock":1795236260,"ns":123456789}],"clock":1795236260,"ns":223456789,"host":"bench-agent-0007.example.net","version":"6.0.25","variant":1}"#
        return Workload(
            name: "churn frame (1 value)",
            stream: Self.plainFrame(json),
            catalog: ItemCatalog(),
            reply: Self.accepted(1)
        )
    }

    /// A busy zabbix_agentd's full send buffer (BufferSize=100): 100 values in one frame, as
    /// agentd 6.0 formats them (host and key on every row).
    static var agentBuffer: Workload {
        var json = #"{"request":"agent data","session":"6e7bd1bd1a3e9c4b2d0f5a8c00000007","data":["#
        for index in 0..<100 {
            if index > 0 { json += "," }
            let value =
                index % 3 == 0 ? "\(index * 7919)" : index % 3 == 1 ? "0.\(100_000 + index)" : "up \(index) days"
            json +=
                #"{"host":"bench-agent-0007.example.net","key":"vfs.fs.size[/srv/\#(index),pused]","value":"\#(value)","id":\#(index + 1),"clock":1795236260,"ns":\#(index * 7_919_111 % 1_000_000_000)}"#
        }
        json +=
            #"],"clock":1795236261,"ns":223456789,"host":"bench-agent-0007.example.net","version":"6.0.25","variant":1}"#
        return Workload(
            name: "agent buffer (100 values)",
            stream: Self.plainFrame(json),
            catalog: ItemCatalog(),
            reply: Self.accepted(100)
        )
    }

    /// The server's reply accepting `count` values.
    private static func accepted(_ count: Int) -> [UInt8] {
        Array(
            Self.plainFrame(
                #"{"response":"success","info":"processed: \#(count); failed: 0; total: \#(count); seconds spent: 0.000050"}"#
            ).readableBytesView
        )
    }

    private static func plainFrame(_ json: String) -> ByteBuffer {
        let payload = Array(json.utf8)
        var buffer = ByteBuffer()
        buffer.writeBytes(Array("ZBXD".utf8) + [0x01])
        buffer.writeInteger(UInt32(payload.count), endianness: .little)
        buffer.writeInteger(UInt32(0), endianness: .little)
        buffer.writeBytes(payload)
        return buffer
    }
}
