import Testing

extension TeeProcess {
    /// Runs `body` against the running tee, then stops it and expects exit status 0. When `body`
    /// throws, the tee is stopped all the same (its exit status no longer matters) and the error
    /// is rethrown: a failing test leaves no tee behind, and a passing one proves a clean exit.
    public func whileRunning(
        sourceLocation: SourceLocation = #_sourceLocation, _ body: () async throws -> Void
    ) async throws {
        do {
            try await body()
        } catch {
            _ = try? await self.stop()
            throw error
        }
        #expect(try await self.stop() == 0, "zabbix-tee's exit status", sourceLocation: sourceLocation)
    }
}
