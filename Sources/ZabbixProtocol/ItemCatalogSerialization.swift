/// Persistence format of ``ItemCatalog``; file I/O and atomic replacement are the caller's.
extension ItemCatalog {
    static let formatName = "zabbix-tee item catalog"
    static let formatVersion: Int64 = 1

    /// The catalog as JSON lines: a header line
    /// `{"format":"zabbix-tee item catalog","version":1}`, then one line per host
    /// (`{"ns":..,"hostid":..,"host":..}`) and per item
    /// (`{"ns":..,"itemid":..,"key":..[,"host":..][,"hostid":..][,"value_type":..][,"delay":..]}`).
    /// `delay` was added without a version change: files written before it load with the
    /// intervals unknown, and older readers pass the member over.
    /// Namespaces and rows are sorted so equal catalogs serialize to equal bytes.
    public func serialized() -> [UInt8] {
        var output: [UInt8] = []
        output.reserveCapacity(64 + self.count * 64)
        output.append(UInt8(ascii: "{"))
        JSONWriter.appendKey("format", to: &output)
        JSONWriter.appendString(Self.formatName, to: &output)
        output.append(UInt8(ascii: ","))
        JSONWriter.appendKey("version", to: &output)
        JSONWriter.appendInteger(Self.formatVersion, to: &output)
        output.append(contentsOf: [UInt8(ascii: "}"), 0x0A])
        for name in self.namespaces.keys.sorted() {
            guard let space = self.namespaces[name] else { continue }
            for (hostid, host) in space.hosts.sorted(by: { $0.key < $1.key }) {
                output.append(UInt8(ascii: "{"))
                JSONWriter.appendKey("ns", to: &output)
                JSONWriter.appendString(name, to: &output)
                output.append(UInt8(ascii: ","))
                JSONWriter.appendKey("hostid", to: &output)
                JSONWriter.appendInteger(hostid, to: &output)
                output.append(UInt8(ascii: ","))
                JSONWriter.appendKey("host", to: &output)
                JSONWriter.appendString(host, to: &output)
                output.append(contentsOf: [UInt8(ascii: "}"), 0x0A])
            }
            for (itemid, item) in space.items.sorted(by: { $0.key < $1.key }) {
                output.append(UInt8(ascii: "{"))
                JSONWriter.appendKey("ns", to: &output)
                JSONWriter.appendString(name, to: &output)
                output.append(UInt8(ascii: ","))
                JSONWriter.appendKey("itemid", to: &output)
                JSONWriter.appendInteger(itemid, to: &output)
                output.append(UInt8(ascii: ","))
                JSONWriter.appendKey("key", to: &output)
                JSONWriter.appendString(item.key, to: &output)
                if let host = item.host {
                    output.append(UInt8(ascii: ","))
                    JSONWriter.appendKey("host", to: &output)
                    JSONWriter.appendString(host, to: &output)
                }
                if let hostid = item.hostid {
                    output.append(UInt8(ascii: ","))
                    JSONWriter.appendKey("hostid", to: &output)
                    JSONWriter.appendInteger(hostid, to: &output)
                }
                if let valueType = item.valueType {
                    output.append(UInt8(ascii: ","))
                    JSONWriter.appendKey("value_type", to: &output)
                    JSONWriter.appendInteger(valueType, to: &output)
                }
                if let delay = item.delay {
                    output.append(UInt8(ascii: ","))
                    JSONWriter.appendKey("delay", to: &output)
                    JSONWriter.appendString(delay.text, to: &output)
                }
                output.append(contentsOf: [UInt8(ascii: "}"), 0x0A])
            }
        }
        return output
    }

    /// Reads bytes written by ``serialized()``. Entries beyond `maximumEntries` (or beyond
    /// `maximumEntriesPerProxy` in one proxy's namespace) are refused and counted in
    /// ``refusedCount``; any malformed line fails the whole read.
    public init(
        serialized bytes: [UInt8],
        maximumEntries: Int = 1_000_000,
        maximumEntriesPerProxy: Int = .max
    ) throws(ItemCatalogError) {
        self.init(maximumEntries: maximumEntries, maximumEntriesPerProxy: maximumEntriesPerProxy)
        let parser = JSONParser(maximumDepth: 2)
        var lineNumber = 0
        var sawHeader = false
        var start = 0
        while start < bytes.count {
            let end = bytes[start...].firstIndex(of: 0x0A) ?? bytes.count
            lineNumber += 1
            let line = Array(bytes[start..<end])
            start = end + 1
            if line.allSatisfy({ $0 == 0x20 || $0 == 0x0D || $0 == 0x09 }) { continue }
            let parsed: JSONValue
            do {
                parsed = try parser.parse(line)
            } catch {
                throw ItemCatalogError(.invalidJSON(error), line: lineNumber)
            }
            guard let object = parsed.object else { throw ItemCatalogError(.notAnObject, line: lineNumber) }
            if !sawHeader {
                guard object.string("format") == Self.formatName else {
                    throw ItemCatalogError(.notACatalog, line: lineNumber)
                }
                let version = object.int64("version")
                guard version == Self.formatVersion else {
                    throw ItemCatalogError(.unsupportedVersion(version), line: lineNumber)
                }
                sawHeader = true
                continue
            }
            try self.load(object, line: lineNumber)
        }
        guard sawHeader else { throw ItemCatalogError(.notACatalog, line: 0) }
    }

    private mutating func load(_ object: JSONObject, line: Int) throws(ItemCatalogError) {
        guard let name = object["ns"]?.string else { throw ItemCatalogError(.missingField("ns"), line: line) }
        var space = self.namespaces.removeValue(forKey: name) ?? Namespace()
        defer { if space.count > 0 { self.namespaces[name] = space } }
        let quota = name.hasPrefix("proxy:") ? self.maximumEntriesPerProxy : Int.max
        if let itemid = object.uint64("itemid") {
            guard let key = object["key"]?.string else { throw ItemCatalogError(.missingField("key"), line: line) }
            guard space.items[itemid] == nil else { return }
            guard self.count < self.maximumEntries, space.count < quota else {
                self.refusedCount += 1
                return
            }
            space.items[itemid] = StoredItem(
                key: key,
                valueType: object.int64("value_type"),
                hostid: object.uint64("hostid"),
                host: object["host"]?.string,
                delay: object["delay"]?.string.flatMap(ZabbixUpdateInterval.init)
            )
            self.count += 1
        } else if let hostid = object.uint64("hostid") {
            guard let host = object["host"]?.string else { throw ItemCatalogError(.missingField("host"), line: line) }
            guard space.hosts[hostid] == nil else { return }
            guard self.count < self.maximumEntries, space.count < quota else {
                self.refusedCount += 1
                return
            }
            space.hosts[hostid] = host
            self.count += 1
        } else {
            throw ItemCatalogError(.missingField("itemid"), line: line)
        }
    }
}

/// Why ``ItemCatalog/init(serialized:maximumEntries:)`` failed.
public struct ItemCatalogError: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Reason: Sendable, Hashable {
        /// The first line is not the catalog header (or the input is empty).
        case notACatalog
        /// A catalog of a format version this code does not read.
        case unsupportedVersion(Int64?)
        /// A line is not valid JSON.
        case invalidJSON(JSONParseError)
        /// A line is JSON but not an object.
        case notAnObject
        /// A line lacks a required member.
        case missingField(String)
    }

    public var reason: Reason
    /// 1-based line number (0 when the whole input is at fault).
    public var line: Int

    public init(_ reason: Reason, line: Int) {
        self.reason = reason
        self.line = line
    }

    public var description: String { "item catalog line \(self.line): \(self.reason)" }
}
