#!/bin/sh
# Installs everything the test suite needs on Debian bookworm, idempotently.
#
# Runs as root, without a terminal (CI=true, no stdin). Service packages are
# installed with daemon start-up blocked (policy-rc.d answering 101) and are
# stopped and disabled afterwards, so nothing runs in the background and the
# tests' ports (10050, 10051, 5432, ...) stay free.
#
# zabbix-server-pgsql conflicts with zabbix-proxy-sqlite3, so the proxy stays
# installed and the server package is unpacked with dpkg -x into
# $ZABBIX_SERVER_ROOT (default /opt/zabbix-server). The tests find
# $ZABBIX_SERVER_ROOT/usr/sbin/zabbix_server and
# $ZABBIX_SERVER_ROOT/usr/share/zabbix-server-pgsql/*.sql.gz there.
set -eu

export DEBIAN_FRONTEND=noninteractive
ZABBIX_SERVER_ROOT=${ZABBIX_SERVER_ROOT:-/opt/zabbix-server}

if [ "$(id -u)" -ne 0 ]; then
    echo "install-test-deps.sh: must run as root" >&2
    exit 1
fi

# Build dependencies, the real Zabbix 6.0 programs, and their peers; gcc, curl, ss and python3
# for the load test (scripts/agent-load.sh compiles the C load generator in Benchmarks/src);
# headless chromium (about 155 MB to download, 350 MB installed) renders the status page in the
# browser test (Tests/EndToEndTests/StatusPageBrowserTests.swift).
PACKAGES="
    libprotobuf-c-dev protobuf-c-compiler protobuf-compiler zlib1g-dev
    zabbix-agent zabbix-agent2 zabbix-proxy-sqlite3
    riemann-c-client socat sqlite3
    postgresql postgresql-client
    gzip util-linux procps
    gcc libc6-dev curl iproute2 python3
    chromium fonts-dejavu-core
"
# Shared libraries the unpacked zabbix_server links against (its Depends line,
# which apt cannot resolve for an unpacked package), plus fping it may call.
SERVER_LIBRARIES="
    libcurl3-gnutls libevent-2.1-7 libgnutls30 libldap-2.5-0 libodbc2
    libopenipmi0 libpcre2-8-0 libpq5 libsnmp40 libssh2-1 libxml2 zlib1g fping
"

# Keep invoke-rc.d from starting daemons while packages are configured.
POLICY=/usr/sbin/policy-rc.d
POLICY_WAS_OURS=no
if [ ! -e "$POLICY" ]; then
    printf '#!/bin/sh\nexit 101\n' > "$POLICY"
    chmod 755 "$POLICY"
    POLICY_WAS_OURS=yes
fi
cleanup() {
    if [ "$POLICY_WAS_OURS" = yes ]; then rm -f "$POLICY"; fi
}
trap cleanup EXIT INT TERM

apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $PACKAGES $SERVER_LIBRARIES </dev/null

# Some package scripts start their daemon without invoke-rc.d, and a machine
# may have had them running before: stop and disable them all.
for service in zabbix-agent zabbix-agent2 zabbix-proxy zabbix-server postgresql; do
    if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
        systemctl stop "$service" >/dev/null 2>&1 || true
        systemctl disable "$service" >/dev/null 2>&1 || true
    elif [ -x "/etc/init.d/$service" ]; then
        "/etc/init.d/$service" stop >/dev/null 2>&1 || true
    fi
done
# Debian's postgresql package creates a "main" cluster; keep it stopped.
if command -v pg_ctlcluster >/dev/null 2>&1; then
    for cluster in /etc/postgresql/*/*; do
        [ -d "$cluster" ] || continue
        version=$(basename "$(dirname "$cluster")")
        name=$(basename "$cluster")
        pg_ctlcluster --mode fast "$version" "$name" stop >/dev/null 2>&1 || true
    done
fi

# Unpack zabbix-server-pgsql (same version as the agent) unless already there.
SERVER_BIN="$ZABBIX_SERVER_ROOT/usr/sbin/zabbix_server"
if [ ! -x "$SERVER_BIN" ]; then
    workdir=$(mktemp -d)
    (cd "$workdir" && apt-get download zabbix-server-pgsql </dev/null)
    mkdir -p "$ZABBIX_SERVER_ROOT"
    dpkg -x "$workdir"/zabbix-server-pgsql_*.deb "$ZABBIX_SERVER_ROOT"
    rm -rf "$workdir"
fi

if ldd "$SERVER_BIN" | grep -q 'not found'; then
    echo "install-test-deps.sh: $SERVER_BIN is missing shared libraries:" >&2
    ldd "$SERVER_BIN" | grep 'not found' >&2
    exit 1
fi

echo "install-test-deps.sh: ready ($("$SERVER_BIN" -V | head -n 1))"
