import Testing
import ZabbixProtocol

/// The pull reader under ``JSONParser`` and the message decoders: what is passed over is still
/// validated, what is kept is charged, names match after escapes are decoded.
@Suite struct JSONReaderTests {
    func withReader<R>(
        _ text: String,
        budget: Int = .max,
        _ body: (inout JSONReader) throws(JSONParseError) -> R
    ) throws(JSONParseError) -> R {
        let bytes = Array(text.utf8)
        let result: Result<R, JSONParseError> = bytes.withUnsafeBytes { raw in
            var reader = JSONReader(raw, budget: budget)
            do throws(JSONParseError) {
                return .success(try body(&reader))
            } catch {
                return .failure(error)
            }
        }
        return try result.get()
    }

    func skipReason(_ text: String) -> JSONParseError.Reason? {
        do {
            try self.withReader(text) { reader throws(JSONParseError) in
                try reader.skipValue()
                try reader.finish()
            }
            return nil
        } catch {
            return error.reason
        }
    }

    @Test func skippingValidatesEverythingItPassesOver() {
        #expect(self.skipReason(#"{"a":[1,{"b":"c"}],"d":null}"#) == nil)
        #expect(self.skipReason(#"{"a":[1,{"b":"c\x"}]}"#) == .invalidEscape)
        #expect(self.skipReason("[\"\u{01}\"]") == .controlCharacterInString)
        #expect(self.skipReason(#"[01]"#) == .invalidNumber)
        #expect(self.skipReason(#"{"a":1,}"#) == .unexpectedByte(UInt8(ascii: "}")))
        #expect(self.skipReason(#"[1]]"#) == .trailingGarbage)
        #expect(self.skipReason(#"{"a":[}"#) == .unexpectedByte(UInt8(ascii: "}")))
        #expect(self.skipReason(String(repeating: "[", count: 65) + String(repeating: "]", count: 65)) == .tooDeep)
        let invalidUTF8: [UInt8] = [0x5B, 0x22, 0xED, 0xA0, 0x80, 0x22, 0x5D]
        let reason = invalidUTF8.withUnsafeBytes { raw -> JSONParseError.Reason? in
            var reader = JSONReader(raw)
            do throws(JSONParseError) {
                try reader.skipValue()
                return nil
            } catch {
                return error.reason
            }
        }
        #expect(reason == .invalidUTF8)
    }

    @Test func namesMatchAfterEscapesAreDecoded() throws {
        let names = try self.withReader(#"{"host":1,"h\u006fst":2,"hos":3,"ho\"st":4}"#) {
            reader throws(JSONParseError) in
            var matches: [Bool] = []
            try reader.beginObject()
            while let name = try reader.nextName() {
                matches.append(reader.name(name, is: "host"))
                try reader.skipValue()
            }
            return matches
        }
        #expect(names == [true, true, false, false])
    }

    @Test func stringsAreChargedToTheBudgetAndSmallOnesAreFree() throws {
        // Up to 15 UTF-8 bytes live inside the String value: nothing to charge.
        let small = try self.withReader(#""fifteen bytes!!""#, budget: 0) { reader throws(JSONParseError) in
            guard case .string(let token) = try reader.readScalar() else { return "" }
            return try reader.string(token)
        }
        #expect(small == "fifteen bytes!!")
        #expect(throws: JSONParseError.self) {
            try self.withReader(#""sixteen bytes!!!""#, budget: 47) { reader throws(JSONParseError) in
                guard case .string(let token) = try reader.readScalar() else { return "" }
                return try reader.string(token)
            }
        }
    }

    @Test func limitedStringsCountScalarsNotBytes() throws {
        func limited(_ text: String, _ maximum: Int) throws -> String? {
            try self.withReader(text) { reader throws(JSONParseError) in
                guard case .string(let token) = try reader.readScalar() else { return nil }
                return try reader.string(token, maximumCharacters: maximum)
            }
        }
        #expect(try limited(#""ééé""#, 3) == "ééé")
        #expect(try limited(#""éééé""#, 3) == nil)
        #expect(try limited(#""\u00e9\u00e9\u00e9""#, 3) == "ééé")
        #expect(try limited(#""\ud83d\ude00\ud83d\ude00""#, 2) == "😀😀")
        #expect(try limited(#""\ud83d\ude00\ud83d\ude00a""#, 2) == nil)
        #expect(try limited(#""a\nb""#, 3) == "a\nb")
    }

    @Test func integersReadFromNumbersAndDigitStringsAlike() throws {
        let values = try self.withReader(#"[1003,"1003","-5",-5,"x","\u0031\u0032",1.5,"18446744073709551616"]"#) {
            reader throws(JSONParseError) in
            var values: [Int64?] = []
            try reader.beginArray()
            while try reader.nextElement() { values.append(reader.int64(try reader.readScalar())) }
            return values
        }
        #expect(values == [1003, 1003, -5, -5, nil, 12, nil, nil])
    }

    @Test func aRewoundReaderReadsAValuePassedOver() throws {
        let text = #"{"data":[1,2,3],"request":"x"}"#
        let sum = try self.withReader(text) { reader throws(JSONParseError) -> Int64 in
            try reader.beginObject()
            _ = try reader.nextName()
            let offset = reader.index
            try reader.skipValue()
            while try reader.nextName() != nil { try reader.skipValue() }
            try reader.finish()
            var again = reader.rewound(to: offset, depth: 1, budget: 0)
            var sum: Int64 = 0
            try again.beginArray()
            while try again.nextElement() { sum += again.int64(try again.readScalar()) ?? 0 }
            return sum
        }
        #expect(sum == 6)
    }
}
