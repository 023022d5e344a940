extension TeeConfiguration {
    /// The configuration with every default spelled out, as YAML that `ConfigLoader` accepts again.
    /// Printed by `zabbix-tee check-config`; each section prints itself from its table.
    public var effectiveYAML: String {
        Self.table.lines(self).joined(separator: "\n") + "\n"
    }
}
