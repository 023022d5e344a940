import Testing

extension TeeProcess {
    /// Runs `body` against the running tee, then stops it and expects exit status 0. When `body`
    /// throws, the tee is stopped all the same (its exit status no longer matters) and the error
    /// is rethrown: a failing test leaves no tee behind, and a passing one proves a clean exit.
    public func whileRunning(
        sourceLocation: SourceLocation = #_sourceLocation,
        _ body: () async throws -> Void
    ) async throws {
        do {
            try await body()
        } catch {
            _ = try? await self.stop()
            throw error
        }
        #expect(try await self.stop() == 0, "zabbix-tee's exit status", sourceLocation: sourceLocation)
    }

    /// ``whileRunning(sourceLocation:_:)`` for a tee in front of lab programs that feeds a Riemann
    /// test server: after the tee, the programs and the server are stopped too (when `body`
    /// threw, they are left to the lab clean-up, as the error matters more).
    public func whileRunning(
        sourceLocation: SourceLocation = #_sourceLocation,
        thenStopping daemons: [any ZabbixLabDaemon],
        _ riemann: RiemannTestServer,
        _ body: () async throws -> Void
    ) async throws {
        try await self.whileRunning(sourceLocation: sourceLocation, body)
        for daemon in daemons { try await daemon.stop() }
        await riemann.shutdown()
    }
}
