import Logging
import Relay

extension TeeDaemon {
    /// Re-reads and validates the configuration file at `path` and applies it (see
    /// ``reload(_:)``). A file that does not load or validate is rejected: one error line with
    /// the loader's message (`file:line:col: key.path: problem`), the failure is counted, and
    /// the running configuration stays in force. Returns the plan applied, `nil` if rejected.
    @discardableResult
    public func reload(path: String) async -> ConfigurationReloadPlan? {
        let new: TeeConfiguration
        do {
            new = try ConfigLoader.load(path: path)
        } catch {
            self.reloads.recordFailure()
            self.logger.error("configuration reload rejected: \(error); keeping the running configuration")
            return nil
        }
        return await self.reload(new)
    }

    /// Applies `new` without dropping connections, per ``ConfigurationReloadPlan``: open
    /// connections finish with the settings they started with, new ones get the new targets,
    /// timeouts and limits; listeners and listen addresses are added and removed; mapping rules
    /// and Riemann settings are swapped. Keys that need a restart are named in a warning and keep
    /// their running values. Logs one info line listing what changed.
    ///
    /// The listener service calls it between two SIGHUPs, so reloads never overlap each other
    /// or the shutdown; a reload before the listeners are bound or after the shutdown began is
    /// ignored (`nil`). If an added address cannot be bound the rest is applied, the error is
    /// logged and the reload counts as failed; the next reload tries to bind it again.
    @discardableResult
    public func reload(_ new: TeeConfiguration) async -> ConfigurationReloadPlan? {
        guard self.isServing else {
            self.logger.warning("configuration reload ignored: the tee is starting or shutting down")
            return nil
        }
        let plan = ConfigurationReloadPlan(running: self.configuration, new: new, decoderRunning: self.pipeline != nil)
        for key in plan.restartRequired {
            self.logger.warning("\(key) changed; takes effect after a restart (the running value stays)")
        }
        let failures = await self.apply(plan)
        if failures.isEmpty {
            self.reloads.recordSuccess()
            self.logger.info("configuration reloaded: \(plan.summary)")
        } else {
            self.reloads.recordFailure()
            self.logger.error(
                "configuration reloaded with errors: \(plan.summary); could not bind: \(failures.map { "\($0)" }.joined(separator: "; "))"
            )
        }
        return plan
    }

    /// Applies a plan; returns the listen addresses that could not be bound.
    private func apply(_ plan: ConfigurationReloadPlan) async -> [RelayListener.BindError] {
        var applied = plan.applied
        if !plan.riemannChanged.isEmpty, let riemann = self.riemann, let settings = applied.riemann {
            await riemann.reconfigure(settings)
        }
        if !plan.mappingChanged.isEmpty {
            self.sink.replaceMapper(EventMapper(configuration: applied.mapping))
            self.graphite?.replaceMapper(EventMapper(configuration: applied.mapping))
        }
        self.engine.budget?.setLimit(applied.maxConnections)
        if plan.otherChanged.contains(where: { $0.hasPrefix("catalog.zabbix_api") }) {
            self.pipeline?.configureCatalogAPI(applied.decode.zabbixAPI)
        }

        let (current, retired) = self.running.value.withLock { ($0.listeners, $0.retired) }
        var byName = Dictionary(uniqueKeysWithValues: current.map { ($0.name, $0) })
        var retiring: [RelayListener] = []
        for name in plan.listenersRemoved {
            guard let listener = byName.removeValue(forKey: name) else { continue }
            await listener.stopAccepting()
            retiring.append(listener)
            self.logger.info(
                "listener removed: no new connections; open ones finish",
                metadata: ["listener": "\(name)", "connections": "\(listener.openConnections)"]
            )
        }
        // Every listener closes the addresses it lost before any binds new ones, so an address
        // can move from one listener to another.
        for (name, _) in plan.listenersChanged {
            guard let listener = byName[name], let settings = applied.listeners.first(where: { $0.name == name }) else {
                continue
            }
            listener.replaceSettings(
                configuration: settings,
                tapFactory: Self.tapFactory(
                    applied.options(for: name),
                    pipeline: self.pipeline,
                    recorders: self.recorders
                )
            )
            _ = await listener.closeRemovedAddresses()
        }
        // Every listener binds what it lacks, changed or not: an address an earlier reload could
        // not bind is retried.
        var failures: [RelayListener.BindError] = []
        for listener in current where byName[listener.name] != nil {
            do {
                _ = try await listener.bindAddedAddresses()
            } catch let error as RelayListener.BindError {
                failures.append(error)
            } catch {}
        }
        var notStarted: Set<String> = []
        for name in plan.listenersAdded {
            guard let settings = applied.listeners.first(where: { $0.name == name }) else { continue }
            let listener = RelayListener(
                configuration: settings,
                engine: self.engine,
                tapFactory: Self.tapFactory(
                    applied.options(for: name),
                    pipeline: self.pipeline,
                    recorders: self.recorders
                ),
                connectionIDs: self.connectionIDs,
                logger: self.logger
            )
            do {
                try await listener.start()
                byName[name] = listener
            } catch let error as RelayListener.BindError {
                failures.append(error)
                notStarted.insert(name)
            } catch {
                notStarted.insert(name)
            }
        }
        // A listener that could not start is left out, so that the next reload adds it again.
        applied.listeners.removeAll { notStarted.contains($0.name) }
        let listeners = applied.listeners.compactMap { byName[$0.name] }
        let stillOpen = (retired + retiring).filter { $0.openConnections > 0 }
        self.running.value.withLock { running in
            running.configuration = applied
            running.listeners = listeners
            running.retired = stillOpen
        }
        self.pipeline?.listenersChanged(applied.listeners.map { ($0.name, $0.listen) })
        return failures
    }
}
