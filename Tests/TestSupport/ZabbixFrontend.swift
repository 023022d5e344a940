import Foundation

/// The real Zabbix frontend (Debian `zabbix-frontend-php`, 6.0 or 7.0, unpacked by
/// `scripts/install-test-deps.sh` into `$ZABBIX_FRONTEND_ROOT-<version>`, default
/// `/opt/zabbix-frontend-*`) on PHP's built-in server, on 127.0.0.1, reading the lab server's
/// database: its `api_jsonrpc.php` is the Zabbix API the catalog backfill asks.
///
/// Debian's frontend reads its configuration from the fixed path `/etc/zabbix/zabbix.conf.php`
/// (a class constant): each frontend runs from a copy of the package's files (about 40 MB, under a
/// second) whose constant names the lab directory's own `zabbix.conf.php`, so frontends of both
/// versions, and of other test runs, never share one file.
public final class ZabbixFrontend: Sendable {
    public let child: ChildProcess
    public let directory: String
    public let port: Int
    public let version: ZabbixLabVersion

    /// The API's address, as `catalog.zabbix_api.url` takes it.
    public var url: String { "http://127.0.0.1:\(self.port)/api_jsonrpc.php" }
    public var logFile: String { "\(self.directory)/php.log" }

    private init(child: ChildProcess, directory: String, port: Int, version: ZabbixLabVersion) {
        self.child = child
        self.directory = directory
        self.port = port
        self.version = version
    }

    /// The unpacked frontend of `version`, or nil when it or PHP is missing.
    public static func packageDirectory(_ version: ZabbixLabVersion) -> String? {
        let root = ProcessInfo.processInfo.environment["ZABBIX_FRONTEND_ROOT"] ?? "/opt/zabbix-frontend"
        let ui = "\(root)-\(version.rawValue)/usr/share/zabbix"
        return FileManager.default.fileExists(atPath: "\(ui)/api_jsonrpc.php") ? ui : nil
    }

    /// Why a frontend of `version` cannot run here, or nil.
    public static func unavailableReason(_ version: ZabbixLabVersion) -> String? {
        if packageDirectory(version) == nil { return "zabbix-frontend-php \(version) (scripts/install-test-deps.sh)" }
        if !ZabbixPrograms.isExecutable("/usr/bin/php") {
            return "php-cli and php-pgsql (scripts/install-test-deps.sh)"
        }
        return nil
    }

    /// Starts a frontend on `lab`'s database and waits until its API answers.
    public static func start(lab: ZabbixServerLab) async throws -> ZabbixFrontend {
        let version = lab.version
        guard let package = packageDirectory(version) else {
            throw ZabbixLabError.missing(unavailableReason(version) ?? "frontend")
        }
        let directory = try ZabbixLabDirectory.create("web")
        let ui = "\(directory)/ui"
        let copy = try await ProcessRunner.run("/bin/cp", ["-a", package, ui], timeout: .seconds(60))
        guard copy.exitCode == 0 else { throw ZabbixLabError.missing("a copy of \(package): \(copy.standardError)") }
        let configFile = "\(ui)/include/classes/core/CConfigFile.php"
        let source = try String(contentsOfFile: configFile, encoding: .utf8)
        try source.replacingOccurrences(of: "'/etc/zabbix/zabbix.conf.php'", with: "'\(directory)/zabbix.conf.php'")
            .write(toFile: configFile, atomically: false, encoding: .utf8)
        let database = lab.database
        try """
        <?php
        $DB['TYPE'] = 'POSTGRESQL';
        $DB['SERVER'] = '127.0.0.1';
        $DB['PORT'] = '\(database.postgres.port)';
        $DB['DATABASE'] = '\(database.name)';
        $DB['USER'] = '\(database.postgres.user)';
        $DB['PASSWORD'] = '';
        $DB['SCHEMA'] = '';
        $DB['ENCRYPTION'] = false;
        $DB['KEY_FILE'] = '';
        $DB['CERT_FILE'] = '';
        $DB['CA_FILE'] = '';
        $DB['VERIFY_HOST'] = false;
        $DB['CIPHER_LIST'] = '';
        $DB['VAULT'] = '';
        $DB['VAULT_URL'] = '';
        $DB['VAULT_PREFIX'] = '';
        $DB['VAULT_DB_PATH'] = '';
        $DB['VAULT_TOKEN'] = '';
        $DB['VAULT_CERT_FILE'] = '';
        $DB['VAULT_KEY_FILE'] = '';
        $DB['DOUBLE_IEEE754'] = true;
        $ZBX_SERVER = '127.0.0.1';
        $ZBX_SERVER_PORT = '\(lab.port)';
        $ZBX_SERVER_NAME = 'lab';
        $IMAGE_FORMAT_DEFAULT = IMAGE_FORMAT_PNG;

        """.write(toFile: "\(directory)/zabbix.conf.php", atomically: false, encoding: .utf8)
        let port = try LoopbackPort.free()
        let child = try ChildProcess(
            "/usr/bin/php",
            ["-S", "127.0.0.1:\(port)", "-t", ui],
            stdoutPath: "\(directory)/php.log",
            stderrPath: "\(directory)/php.log"
        )
        let frontend = ZabbixFrontend(child: child, directory: directory, port: port, version: version)
        do {
            try await waitUntil(
                "the \(version) frontend's API to answer",
                timeout: .seconds(30),
                interval: .milliseconds(100)
            ) {
                guard child.isRunning else {
                    throw ZabbixLabError.missing("php -S exited: \(ZabbixLabDirectory.tail(frontend.logFile))")
                }
                return (try? await frontend.call("apiinfo.version", params: "{}"))?.contains(version.rawValue) == true
            }
        } catch {
            await frontend.stop()
            throw error
        }
        return frontend
    }

    /// One JSON-RPC call; returns the answer's `result` as JSON text, or throws the API's error.
    /// `auth`: a session id or token, as the version wants it (body before 6.4, header from then on).
    public func call(_ method: String, params: String, auth: String? = nil) async throws -> String {
        var body = #"{"jsonrpc":"2.0","method":"\#(method)","params":\#(params),"id":1"#
        var arguments = ["-sS", "--max-time", "10", "-H", "Content-Type: application/json-rpc"]
        if let auth {
            if self.version.isAtLeast7 {
                arguments += ["-H", "Authorization: Bearer \(auth)"]
            } else {
                body += #","auth":"\#(auth)""#
            }
        }
        body += "}"
        let result = try await ProcessRunner.run(
            "/usr/bin/curl",
            arguments + ["--data-binary", "@-", self.url],
            input: body
        )
        guard result.exitCode == 0 else { throw ZabbixLabError.missing("API \(method): curl: \(result.standardError)") }
        let answer = try JSONSerialization.jsonObject(with: Data(result.standardOutput.utf8)) as? [String: Any]
        guard let value = answer?["result"] else {
            throw ZabbixLabError.missing("API \(method) answered no result: \(result.standardOutput.prefix(500))")
        }
        let data = try JSONSerialization.data(withJSONObject: value, options: [.fragmentsAllowed])
        return String(decoding: data, as: UTF8.self)
    }

    /// A new API token of Admin (`user.login`, `token.create`, `token.generate`): what an
    /// operator would give the tee.
    public func createToken(name: String = "zabbix-tee-\(UUID().uuidString.prefix(8))") async throws -> String {
        let session = try await self.call("user.login", params: #"{"username":"Admin","password":"zabbix"}"#)
            .trimmingCharacters(in: CharacterSet(charactersIn: "\""))
        let created = try await self.call("token.create", params: #"{"name":"\#(name)","userid":"1"}"#, auth: session)
        guard
            let tokenid = (try JSONSerialization.jsonObject(with: Data(created.utf8)) as? [String: Any])
                .flatMap({ ($0["tokenids"] as? [Any])?.first }).map({ "\($0)" })
        else { throw ZabbixLabError.missing("token.create answered \(created)") }
        let generated = try await self.call("token.generate", params: #"["\#(tokenid)"]"#, auth: session)
        guard
            let token = (try JSONSerialization.jsonObject(with: Data(generated.utf8)) as? [[String: Any]])?.first?[
                "token"
            ] as? String
        else { throw ZabbixLabError.missing("token.generate answered \(generated)") }
        return token
    }

    /// Stops PHP (by its pid) and removes the directory.
    public func stop() async {
        _ = await ProcessGroup.terminate(self.child.pid, grace: .seconds(5))
        _ = self.child.exitStatus
        ZabbixLabDirectory.remove(self.directory)
    }
}
