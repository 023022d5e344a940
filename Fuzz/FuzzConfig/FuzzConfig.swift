import FuzzSupport
import Tee

// Fuzzes Tee.ConfigLoader.parse(yaml:file:): the whole input is the configuration text (invalid
// UTF-8 is repaired, as a String would be). Any outcome but a crash, a hang or a leak is fine:
// parse either returns a configuration or throws a ConfigError whose message names the file.
//
// Invariant: a thrown ConfigError mentions the file name; an accepted configuration has at least
// one listener.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let text = String(decoding: UnsafeRawBufferPointer(start: data, count: data == nil ? 0 : size), as: UTF8.self)
    do {
        let configuration = try ConfigLoader.parse(yaml: text, file: "fuzz.yaml")
        FuzzSupport.check(!configuration.listeners.isEmpty, "accepted a configuration without listeners")
    } catch {
        FuzzSupport.check(error.file == "fuzz.yaml", "error names file \(error.file)")
        _ = error.description
    }
    return 0
}

@main
enum Main {
    static func main() { FuzzSupport.main(fuzzTestOneInput) }
}
