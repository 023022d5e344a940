import FuzzSupport
import NIOCore
import Relay
import RelaySimulation

// Fuzzes the relay's state machine between two simulated peers: the input chooses the settings
// and then every event — data, end of stream, resets, closes, consumption on either side, connect
// outcomes, time passing, a close requested from outside. RelaySimulation executes the machine's
// actions as the epoll loop does and checks the relay's promises after every step (byte identity,
// FIN after the bytes before it, one read batch per direction, every descriptor closed exactly
// once, finishing once the peers finish or time passes every deadline).
//
// Input layout:
//   byte 0   scratch size: (b % 32) + 1 bytes
//   byte 1   kernel buffer towards the client: (b % 48) + 1 bytes
//   byte 2   kernel buffer towards the server: (b % 48) + 1 bytes
//   byte 3   bits 0-1: candidate targets - 1; bits 2-3: failing targets; bit 4: admission refuses;
//            bit 5: MSG_MORE before end of stream; bits 6-7: short timeouts (0: defaults, and
//            no time passes during the steps)
//   rest     the choices, one byte each (a choice beyond the input is 0)

/// Choices read from the fuzzer's input.
struct InputChoices: RelayChoices {
    let bytes: UnsafeRawBufferPointer
    var offset = 0

    mutating func next(_ bound: Int) -> Int {
        guard offset < bytes.count, bound > 1 else { return 0 }
        defer { offset += 1 }
        return Int(bytes[offset]) % bound
    }

    var exhausted: Bool { offset >= bytes.count }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard size >= 4, let data else { return 0 }
    let input = UnsafeRawBufferPointer(start: data, count: size)
    let flags = input[3]
    var timeouts = RelayTimeouts()
    if flags >> 6 != 0 {
        let unit = Int64(flags >> 6)
        timeouts = RelayTimeouts(
            connect: .milliseconds(300 * unit),
            firstByte: .seconds(2 * unit),
            idle: .seconds(5 * unit),
            drain: .seconds(unit),
            clientFin: .seconds(unit),
            serverReply: .seconds(3 * unit)
        )
    }
    let simulation = RelaySimulation(
        timeouts: timeouts,
        targetCount: Int(flags & 0x3) + 1,
        failingTargets: Int((flags >> 2) & 0x3),
        refuseAdmission: flags & 0x10 != 0,
        scratchSize: Int(input[0] % 32) + 1,
        clientCapacity: Int(input[1] % 48) + 1,
        serverCapacity: Int(input[2] % 48) + 1,
        moreBeforeEndOfStream: flags & 0x20 != 0,
        timeMoves: flags >> 6 != 0
    )
    var choices = InputChoices(bytes: UnsafeRawBufferPointer(rebasing: input[4...]))
    let result = RelaySimulation.run(simulation, steps: (size - 4) / 2 + 1, choices: &choices)
    FuzzSupport.check(result.violations.isEmpty, result.violations.prefix(5).joined(separator: "\n"))
    return 0
}

@main
enum Main {
    static func main() { FuzzSupport.main(fuzzTestOneInput) }
}
