import Testing

@testable import Tee

/// The short-decimal reading of values gives exactly what `Double(_:)` gives.
struct ZabbixValueParsingTests {
    /// A deterministic generator (64-bit LCG), so that a failure names a reproducible input.
    private struct Generator {
        var state: UInt64
        mutating func next(_ bound: UInt64) -> UInt64 {
            self.state = self.state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return (self.state >> 33) % bound
        }
        mutating func digits(_ count: Int) -> String {
            String((0..<count).map { _ in Character(String(self.next(10))) })
        }
    }

    @Test func shortDecimalsParseToTheSameDoubleAsTheStandardLibrary() {
        var generator = Generator(state: 0x5EED)
        var inputs = [
            "0.0", "-0.0", "+1.5", "0.322266", "0.000055", "123456789012.345", "999999999999999.9",
            "99999999999999.99", "1.000000000000001", "0.1", "0.3", "-7.25", "00.10",
        ]
        for _ in 0..<50_000 {
            let sign = ["", "-", "+"][Int(generator.next(3))]
            let integer = generator.digits(Int(generator.next(9)) + 1)
            let fraction = generator.digits(Int(generator.next(9)) + 1)
            inputs.append(sign + integer + "." + fraction)
        }
        for input in inputs {
            let expected = Double(input)
            guard case .double(let parsed)? = ZabbixValueParsing.numeric(input, valueType: nil) else {
                Issue.record("\(input) gave no double")
                continue
            }
            #expect(parsed.bitPattern == expected?.bitPattern, "\(input)")
        }
    }

    @Test func decimalsOutsideTheShortFormStillParseAsTheStandardLibraryDoes() {
        for input in ["1.", ".5", "-.5", "1e3", "1.5E-3", "1234567890123456.7", "0.12345678901234567"] {
            #expect(ZabbixValueParsing.shortDecimal(input.utf8) == nil, "\(input)")
            let expected = Double(input).map(ZabbixValueParsing.Numeric.double)
            #expect(ZabbixValueParsing.numeric(input, valueType: nil) == expected, "\(input)")
        }
        for input in ["1.2.3", "-", "+.", "1..2", "."] {
            #expect(ZabbixValueParsing.numeric(input, valueType: nil) == nil, "\(input)")
        }
    }
}
