import NIOCore
import TestSupport
import Testing
import ZabbixProtocol

@Suite struct JSONParserTests {
    let parser = JSONParser()

    func parse(_ text: String) throws -> JSONValue { try self.parser.parse(text) }

    func reason(_ bytes: [UInt8], maximumDepth: Int = 64) -> JSONParseError.Reason? {
        do {
            _ = try JSONParser(maximumDepth: maximumDepth).parse(bytes)
            return nil
        } catch {
            return error.reason
        }
    }

    func reason(_ text: String) -> JSONParseError.Reason? { self.reason(Array(text.utf8)) }

    @Test func parsesCapturedAgentdAgentData() throws {
        let text = #"""
            {"request":"agent data","session":"da5682c258db95735870aea3f3a13664","data":[{"host":"tee-test-agentd","key":"agent.ping","value":"1","id":1,"clock":1795236167,"ns":573317970},{"host":"tee-test-agentd","key":"vfs.file.contents[/nonexistent/file]","value":"Cannot open file: [2] No such file or directory","state":1,"id":3,"clock":1795236167,"ns":573364019}],"clock":1795236168,"ns":573601716}
            """#
        let value = try self.parse(text)
        #expect(value["request"] == .string("agent data"))
        let rows = try #require(value["data"]?.array)
        #expect(rows.count == 2)
        #expect(rows[1]["state"]?.int64 == 1)
        #expect(rows[0]["clock"]?.uint64 == 1_795_236_167)
        #expect(rows[1]["key"]?.string == "vfs.file.contents[/nonexistent/file]")
    }

    @Test func parsesScalarsAndEmptyContainers() throws {
        #expect(try self.parse("null") == .null)
        #expect(try self.parse("true") == .bool(true))
        #expect(try self.parse(" false ") == .bool(false))
        #expect(try self.parse("[]") == .array([]))
        #expect(try self.parse("{}") == .object(JSONObject()))
        #expect(try self.parse(#"[1, "a" ,{ "b" : [ ] } ]"#).array?.count == 3)
    }

    @Test func keepsObjectMemberOrderAndReturnsFirstDuplicate() throws {
        let value = try self.parse(#"{"b":1,"a":2,"b":3}"#)
        #expect(value.object?.map(\.key) == ["b", "a", "b"])
        #expect(value["b"]?.int64 == 1)
    }

    @Test func trimsTrailingWhitespaceAndCRLFAsZabbixDoes() throws {
        #expect(try self.parse("{\"a\":1}\r\n") == self.parse(#"{"a":1}"#))
        #expect(try self.parse(" \t\n{\"a\":1} \r\n\t ")["a"]?.int64 == 1)
    }

    @Test func rejectsTrailingGarbage() {
        #expect(self.reason(#"{"a":1}x"#) == .trailingGarbage)
        #expect(self.reason(#"{"a":1}{"#) == .trailingGarbage)
        #expect(self.reason("1 2") == .trailingGarbage)
        #expect(self.reason(Array(#"{"a":1}"#.utf8) + [0]) == .trailingGarbage)
    }

    @Test func decodesAllEscapes() throws {
        #expect(try self.parse(#""\"\\\/\b\f\n\r\t""#) == .string("\"\\/\u{08}\u{0C}\n\r\t"))
        #expect(try self.parse(#""a\u0041\u00e9\u20AC b""#) == .string("aAé€ b"))
        #expect(try self.parse(#""\u0000""#) == .string("\u{0}"))
        #expect(try self.parse(#""line1\nline2\tend""#) == .string("line1\nline2\tend"))
    }

    @Test func decodesSurrogatePairs() throws {
        #expect(try self.parse(#""\ud83d\ude00""#) == .string("😀"))
        #expect(try self.parse(#""x\uD834\uDD1Ey""#) == .string("x𝄞y"))
    }

    @Test func rejectsLoneOrMisorderedSurrogates() {
        #expect(self.reason(#""\ud83d""#) == .invalidUnicodeEscape)
        #expect(self.reason(#""\ud83dx""#) == .invalidUnicodeEscape)
        #expect(self.reason(#""\ude00""#) == .invalidUnicodeEscape)
        #expect(self.reason(#""\ud83d\u0041""#) == .invalidUnicodeEscape)
        #expect(self.reason(#""\ud83d\n""#) == .invalidUnicodeEscape)
    }

    @Test func rejectsBadEscapes() {
        #expect(self.reason(#""\x""#) == .invalidEscape)
        #expect(self.reason(#""\u12""#) == .invalidUnicodeEscape)
        #expect(self.reason(#""\u12G4""#) == .invalidUnicodeEscape)
        #expect(self.reason(#""\"#) == .unexpectedEnd)
    }

    @Test func acceptsValidMultibyteUTF8() throws {
        #expect(try self.parse("\"héllo €𝄞 日本\"") == .string("héllo €𝄞 日本"))
    }

    @Test func rejectsInvalidUTF8InStrings() {
        let invalid: [[UInt8]] = [
            [0x80], [0xC0, 0xAF], [0xC1, 0xBF], [0xE0, 0x80, 0xAF], [0xED, 0xA0, 0x80],
            [0xF4, 0x90, 0x80, 0x80], [0xF5, 0x80, 0x80, 0x80], [0xFF], [0xC3, 0x28], [0xE2, 0x82, 0x28],
        ]
        for bytes in invalid {
            #expect(self.reason([0x22] + bytes + [0x22]) == .invalidUTF8, "\(bytes)")
        }
        #expect(self.reason([0x22, 0xC3]) == .unexpectedEnd)
    }

    @Test func rejectsControlCharactersInStrings() {
        #expect(self.reason([0x22, 0x0A, 0x22]) == .controlCharacterInString)
        #expect(self.reason([0x22, 0x00, 0x22]) == .controlCharacterInString)
    }

    @Test func keepsBigNumbersExactly() throws {
        let max = try self.parse("18446744073709551615")
        guard case .number(let number) = max else {
            Issue.record("not a number")
            return
        }
        #expect(number.text == "18446744073709551615")
        #expect(number.uint64 == .max)
        #expect(number.int64 == nil)
        let beyond = try self.parse("18446744073709551616")
        if case .number(let number) = beyond {
            #expect(number.text == "18446744073709551616")
            #expect(number.uint64 == nil)
            #expect(number.double == 18446744073709551616.0)
        }
        #expect(try self.parse("-9223372036854775808").int64 == .min)
        #expect(try self.parse("9223372036854775807").int64 == .max)
        #expect(try self.parse("-9223372036854775809").int64 == nil)
        #expect(try self.parse("123456789012345678901234567890").scalarText == "123456789012345678901234567890")
    }

    @Test func numberAccessorsRespectFractionsAndExponents() throws {
        #expect(try self.parse("0.322266").int64 == nil)
        if case .number(let number) = try self.parse("-1.5e3") {
            #expect(number.double == -1500)
            #expect(number.uint64 == nil)
        }
        #expect(try self.parse("0") == .number(JSONNumber(validatedText: "0")))
        #expect(try self.parse("-0").int64 == 0)
        #expect(try self.parse("1E+2").scalarText == "1E+2")
    }

    @Test func rejectsMalformedNumbers() {
        for text in ["01", "-", "1.", ".5", "1e", "1e+", "+1", "-a", "0x10", "1.e3", "NaN", "Infinity"] {
            let reason = self.reason(text)
            #expect(
                reason == .invalidNumber || reason == .unexpectedByte(Array(text.utf8)[0])
                    || reason == .trailingGarbage,
                "\(text): \(String(describing: reason))"
            )
            #expect(reason != nil, "\(text)")
        }
    }

    @Test func stringsAndNumbersBothReadAsIntegersWhereZabbixAcceptsBoth() throws {
        let value = try self.parse(#"{"a":"1003","b":1003,"c":"x","d":"-5","e":true}"#)
        #expect(value["a"]?.uint64 == 1003)
        #expect(value["b"]?.uint64 == 1003)
        #expect(value["c"]?.uint64 == nil)
        #expect(value["d"]?.int64 == -5)
        #expect(value["e"]?.scalarText == "true")
        #expect(value["b"]?.scalarText == "1003")
    }

    @Test func enforcesDepthLimit() {
        let deep = String(repeating: "[", count: 65) + String(repeating: "]", count: 65)
        #expect(self.reason(deep) == .tooDeep)
        let ok = String(repeating: "[", count: 64) + String(repeating: "]", count: 64)
        #expect(self.reason(ok) == nil)
        let hostile = Array(repeating: UInt8(ascii: "{"), count: 100_000)
        #expect(self.reason(hostile) != nil)
        #expect(self.reason(Array(repeating: UInt8(ascii: "["), count: 1_000_000)) == .tooDeep)
    }

    @Test func rejectsStructuralErrors() {
        #expect(self.reason("") == .unexpectedEnd)
        #expect(self.reason("   ") == .unexpectedEnd)
        #expect(self.reason("{") == .unexpectedEnd)
        #expect(self.reason(#"{"a"}"#) == .unexpectedByte(UInt8(ascii: "}")))
        #expect(self.reason(#"{"a":1,}"#) == .unexpectedByte(UInt8(ascii: "}")))
        #expect(self.reason("[1,]") == .unexpectedByte(UInt8(ascii: "]")))
        #expect(self.reason("[1 2]") == .unexpectedByte(UInt8(ascii: "2")))
        #expect(self.reason("{a:1}") == .unexpectedByte(UInt8(ascii: "a")))
        #expect(self.reason("tru") == .unexpectedEnd)
        #expect(self.reason("nul1") == .unexpectedByte(UInt8(ascii: "1")))
        #expect(self.reason(#""abc"#) == .unexpectedEnd)
        #expect(self.reason("'a'") == .unexpectedByte(UInt8(ascii: "'")))
    }

    @Test func reportsOffsetOfTheProblem() throws {
        do {
            _ = try self.parser.parse(#"{"a":[1,2,x]}"#)
            Issue.record("parsed")
        } catch {
            #expect(error.offset == 10)
        }
    }

    @Test func parsesFromByteBufferView() throws {
        var buffer = ByteBuffer(string: "xx")
        buffer.moveReaderIndex(forwardBy: 2)
        buffer.writeString(#"{"k":"v"}"#)
        #expect(try self.parser.parse(buffer)["k"] == .string("v"))
    }

    @Test func randomBytesNeverCrash() {
        var rng = SeededGenerator(seed: 99)
        let alphabet =
            Array(#"{}[]",:\/ubfnrt0123456789.eE+-truefalsenull  "#.utf8) + [
                0xC3, 0xA9, 0xF0, 0x9F, 0xED, 0xA0, 0x80, 0x0A,
            ]
        for _ in 0..<20000 {
            let count = Int.random(in: 0...64, using: &rng)
            let bytes = (0..<count).map { _ in alphabet.randomElement(using: &rng)! }
            _ = try? self.parser.parse(bytes)
        }
    }
}
