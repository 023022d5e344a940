import FuzzSupport
import NIOCore
import ZabbixProtocol

// Fuzzes JSONParser and ZabbixConversation on frame payloads (already inflated).
//
// Input layout:
//   byte 0   bit i (i < 8): payload i was sent by the server (else by the client); later payloads
//            alternate.
//   rest     payloads separated by 0xFE (a byte that never occurs in UTF-8 text, so JSON and
//            passive-check seeds need no escaping).
//
// Every payload goes through JSONParser (three ways, which must agree) and then through one
// ZabbixConversation in order, as the side pipeline does. Item values feed a DuplicateFilter and
// an ItemCatalog, active checks replies and proxy configurations are learned.
//
// Invariants: parse(bytes), parse(ByteBuffer) and parse([UInt8]) give the same value or the same
// error; the error offset lies within the input; a shallow parser never accepts what the default
// one rejects; a parser with a budget either fails with budgetExceeded or gives the same tree; the
// catalog honours its limit. Cost budget (ASan builds): a budgeted tree and a conversation's decode
// never take more heap than a few times the payload plus their budget, whatever its shape.

/// What one payload may keep, and the budgeted tree parser's budget.
private let budget = 64 << 10

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard size >= 1, let data else { return 0 }
    let input = UnsafeRawBufferPointer(start: data, count: size)
    let peers = input[0]
    let payloads = fuzzSplit(UnsafeRawBufferPointer(rebasing: input[1...]), separator: 0xFE)

    let parser = JSONParser()
    let shallow = JSONParser(maximumDepth: 3)
    let budgeted = JSONParser(budget: budget)
    var conversation = ZabbixConversation(budget: budget)
    var catalog = ItemCatalog(maximumEntries: 100)
    var filter = DuplicateFilter(maximumSessions: 4)

    for (index, payload) in payloads.enumerated() {
        let fromRaw = Result { () throws(JSONParseError) in try parser.parse(payload) }
        let fromBuffer = Result { () throws(JSONParseError) in try parser.parse(ByteBuffer(bytes: payload)) }
        let fromArray = Result { () throws(JSONParseError) in try parser.parse(Array(payload)) }
        FuzzSupport.check(fromRaw == fromBuffer && fromRaw == fromArray, "parse entry points disagree")
        if case .failure(let error) = fromRaw {
            FuzzSupport.check(
                error.offset >= 0 && error.offset <= payload.count,
                "error offset \(error.offset) outside \(payload.count) bytes"
            )
        }
        if case .success = (Result { () throws(JSONParseError) in try shallow.parse(payload) }) {
            FuzzSupport.check((try? fromRaw.get()) != nil, "depth-3 parser accepted what the default parser rejects")
        }
        if let value = try? fromRaw.get() { walk(value) }
        let small = FuzzSupport.withinAllocationBudget(4 * payload.count + 3 * budget + (64 << 10), "a budgeted tree") {
            Result { () throws(JSONParseError) in try budgeted.parse(payload) }
        }
        switch small {
        case .success(let value):
            FuzzSupport.check((try? fromRaw.get()) == value, "a budgeted parser built another tree")
        case .failure(let error) where error.reason == .budgetExceeded: break
        case .failure(let error):
            FuzzSupport.check(fromRaw == .failure(error), "a budgeted parser failed otherwise: \(error)")
        }

        let peer: ZabbixPeer
        if index < 8 {
            peer = (peers >> UInt8(index)) & 1 != 0 ? .server : .client
        } else {
            peer = index % 2 == 0 ? .client : .server
        }
        let message: ZabbixMessage
        do {
            message = try FuzzSupport.withinAllocationBudget(
                8 * payload.count + 4 * budget + (64 << 10),
                "decoding a payload"
            ) {
                try conversation.decode(bytes: payload, from: peer)
            }
        } catch {
            conversation.forgetFrame(from: peer)
            continue
        }
        _ = message.hashValue
        let values = message.itemValues
        let unseen = filter.unseen(values)
        filter.remember(unseen)
        switch message {
        case .activeChecksResponse(let response): catalog.learn(response, listener: "fuzz")
        case .proxyConfig(let config): catalog.learn(config, listener: "fuzz", proxy: config.proxyHost ?? "")
        case .response(let response):
            // The verdict on a request's values: rows verdicts only for history.push replies.
            if case .rows(let rows) = response.acceptance {
                FuzzSupport.check(rows.count == response.rowResults?.count, "one verdict per history.push result")
            }
        case .historyPush(let push):
            // The reply answers by position: rows the reader did not keep leave gaps, never reorder.
            let positions = push.rowIndexes
            FuzzSupport.check(
                positions.count == push.rows.count && zip(positions, positions.dropFirst()).allSatisfy { $0 < $1 },
                "history.push rows without increasing positions"
            )
            _ = ItemValue.values(of: push)
        default: break
        }
        for value in values { _ = catalog.resolved(value, listener: "fuzz") }
    }
    FuzzSupport.check(catalog.count <= 100, "catalog above its limit")
    return 0
}

/// Touches every accessor of every value (numbers are converted, strings hashed).
private func walk(_ value: JSONValue) {
    _ = value.scalarText
    _ = value.uint64
    _ = value.int64
    if let object = value.object {
        for (index, member) in object.members.enumerated() {
            if index < 16 { _ = object[member.key] }  // lookups are linear: keep the harness linear
            walk(member.value)
        }
    } else if let array = value.array {
        for element in array { walk(element) }
    }
}

@main
enum Main {
    static func main() { FuzzSupport.main(fuzzTestOneInput) }
}
