import FuzzSupport
import NIOCore
import ZabbixProtocol

// Fuzzes proxy configuration payloads into ItemCatalog.learn, and the catalog's persistence
// format (serialized() / init(serialized:)).
//
// Input layout:
//   byte 0   bits 0–1: how the payload arrives (0 active proxy reply to {"request":"proxy config",
//            "host":…}; 1 6.4+ passive push: request, status, payload; 2 ≤ 6.2 push
//            {"request":"proxy config","data":PAYLOAD}; 3 the payload is applied twice);
//            bits 2–3: catalog limit (4, 64, 4096, 1 000 000).
//   rest     the configuration payload (JSON). The same bytes are also read as a serialized
//            catalog.
//
// Invariants: decoding the payload never takes more heap than a few times its size plus the
// conversation's budget (ASan builds); count ≤ maximumEntries; serialized() has exactly one line per entry plus the header;
// init(serialized: serialized()) gives back the same catalog (same bytes, same count); learning
// the same configuration twice changes nothing; a catalog read from arbitrary bytes round-trips.

private let limits = [4, 64, 4096, 1_000_000]

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard size >= 1, let data else { return 0 }
    let input = UnsafeRawBufferPointer(start: data, count: size)
    let mode = input[0] & 0x03
    let limit = limits[Int((input[0] >> 2) & 0x03)]
    let payload = Array(input[1...])

    var configs: [ProxyConfig] = []
    let budget = 64 << 10
    var conversation = ZabbixConversation(budget: budget)
    func send(_ bytes: [UInt8], _ peer: ZabbixPeer) {
        let buffer = ByteBuffer(bytes: bytes)
        let message = FuzzSupport.withinAllocationBudget(
            8 * bytes.count + 4 * budget + (64 << 10),
            "decoding a configuration"
        ) {
            try? conversation.decode(buffer, from: peer)
        }
        if case .proxyConfig(let config)? = message {
            configs.append(config)
        }
    }
    switch mode {
    case 0, 3:
        send(Array(#"{"request":"proxy config","host":"fuzz-proxy","version":"6.0.14"}"#.utf8), .client)
        send(payload, .server)
    case 1:
        send(Array(#"{"request":"proxy config"}"#.utf8), .client)
        send(
            Array(#"{"version":"7.0.0","session":"0123456789abcdef0123456789abcdef","config_revision":0}"#.utf8),
            .server
        )
        send(payload, .client)
    default:
        send(Array(#"{"request":"proxy config","data":"#.utf8) + payload + [UInt8(ascii: "}")], .client)
    }

    var catalog = ItemCatalog(maximumEntries: limit)
    for config in configs {
        catalog.learn(config, listener: "fuzz", proxy: config.proxyHost ?? "")
        checkCatalog(catalog)
        if mode == 3 {
            // Idempotence holds only while nothing is refused (a refused row may fit the second time).
            let before = catalog.serialized()
            let refused = catalog.refusedCount
            catalog.learn(config, listener: "fuzz", proxy: config.proxyHost ?? "")
            if refused == 0 && catalog.refusedCount == 0 {
                FuzzSupport.check(
                    catalog.serialized() == before,
                    "learning the same configuration twice changed the catalog"
                )
            }
            checkCatalog(catalog)
        }
    }

    // The payload as a persisted catalog.
    if let loaded = try? ItemCatalog(serialized: payload, maximumEntries: limit) {
        checkCatalog(loaded)
    }
    return 0
}

private func checkCatalog(_ catalog: ItemCatalog) {
    FuzzSupport.check(
        catalog.count >= 0 && catalog.count <= catalog.maximumEntries,
        "count \(catalog.count) outside 0…\(catalog.maximumEntries)"
    )
    let bytes = catalog.serialized()
    let lines = bytes.reduce(0) { $0 + ($1 == 0x0A ? 1 : 0) }
    FuzzSupport.check(lines == catalog.count + 1, "serialized \(lines) lines for \(catalog.count) entries")
    let reloaded: ItemCatalog
    do {
        reloaded = try ItemCatalog(serialized: bytes, maximumEntries: catalog.maximumEntries)
    } catch {
        FuzzSupport.check(
            false,
            "serialized catalog does not load: \(error)\n\(String(decoding: bytes, as: UTF8.self))"
        )
        return
    }
    FuzzSupport.check(reloaded.count == catalog.count, "reloaded \(reloaded.count) entries, had \(catalog.count)")
    FuzzSupport.check(reloaded.refusedCount == 0, "reload refused entries")
    FuzzSupport.check(reloaded.serialized() == bytes, "catalog does not survive a serialize/load round trip")
    for name in catalog.namespaceNames {
        FuzzSupport.check(reloaded.namespaceNames.contains(name), "namespace \(name) lost")
    }
}

@main
enum Main {
    static func main() { FuzzSupport.main(fuzzTestOneInput) }
}
