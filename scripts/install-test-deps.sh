#!/bin/sh
# Installs everything the test suite needs on Debian bookworm, idempotently.
#
# Runs as root, without a terminal (CI=true, no stdin). Service packages are
# installed with daemon start-up blocked (policy-rc.d answering 101) and are
# stopped and disabled afterwards, so nothing runs in the background and the
# tests' ports (10050, 10051, 5432, ...) stay free.
#
# Zabbix 6.0 (bookworm): zabbix-server-pgsql conflicts with zabbix-proxy-sqlite3,
# so the proxy stays installed and the server package is unpacked with dpkg -x
# into $ZABBIX_SERVER_ROOT (default /opt/zabbix-server). The tests find
# $ZABBIX_SERVER_ROOT/usr/sbin/zabbix_server and
# $ZABBIX_SERVER_ROOT/usr/share/zabbix-server-pgsql/*.sql.gz there.
#
# Zabbix 7.0 LTS (bookworm-backports, 7.0.9): its packages conflict with the
# installed 6.0 ones, so all of them (agentd, agent2, sender, proxy with
# zabbix_get, server) are unpacked with dpkg -x into $ZABBIX7_ROOT (default
# /opt/zabbix-7.0), and only their shared libraries are installed. The
# backports source is added for `apt-get download` only, pinned to priority 1
# so that nothing installed is ever upgraded from it.
#
# The frontends (zabbix-frontend-php 6.0 and 7.0) are unpacked into
# $ZABBIX_FRONTEND_ROOT-6.0 and -7.0 (default /opt/zabbix-frontend-*) for tests
# of the Zabbix API; see FRONTEND below for what running them needs.
set -eu

export DEBIAN_FRONTEND=noninteractive
ZABBIX_SERVER_ROOT=${ZABBIX_SERVER_ROOT:-/opt/zabbix-server}
ZABBIX7_ROOT=${ZABBIX7_ROOT:-/opt/zabbix-7.0}
ZABBIX_FRONTEND_ROOT=${ZABBIX_FRONTEND_ROOT:-/opt/zabbix-frontend}

if [ "$(id -u)" -ne 0 ]; then
    echo "install-test-deps.sh: must run as root" >&2
    exit 1
fi

# Build dependencies, the real Zabbix 6.0 programs, and their peers; gcc, curl, ss and python3
# for the load test (scripts/agent-load.sh compiles the C load generator in Benchmarks/src);
# headless chromium (about 155 MB to download, 350 MB installed) renders the status page in the
# browser test (Tests/EndToEndTests/StatusPageBrowserTests.swift); a real carbon-cache and
# whisper-fetch read back what the Graphite output wrote (Tests/EndToEndTests/GraphiteEndToEndTests.swift).
PACKAGES="
    libprotobuf-c-dev protobuf-c-compiler protobuf-compiler zlib1g-dev
    zabbix-agent zabbix-agent2 zabbix-proxy-sqlite3
    riemann-c-client socat sqlite3
    postgresql postgresql-client
    gzip util-linux procps
    gcc libc6-dev curl iproute2 python3
    chromium fonts-dejavu-core
    graphite-carbon python3-whisper
"
# Shared libraries the unpacked zabbix_server links against (its Depends line,
# which apt cannot resolve for an unpacked package), plus fping it may call.
SERVER_LIBRARIES="
    libcurl3-gnutls libevent-2.1-7 libgnutls30 libldap-2.5-0 libodbc2
    libopenipmi0 libpcre2-8-0 libpq5 libsnmp40 libssh2-1 libxml2 zlib1g fping
"
# What the unpacked 7.0 programs link against beyond that (their Depends lines;
# SQLite and OpenSSL come with the 6.0 proxy and agent2): the 7.0 server and
# proxy use libevent's extra and pthreads parts, agentd libmodbus.
ZABBIX7_LIBRARIES="
    libevent-core-2.1-7 libevent-extra-2.1-7 libevent-pthreads-2.1-7 libmodbus5
"
# The 7.0 packages unpacked into $ZABBIX7_ROOT (zabbix_get ships with the proxy and the server).
ZABBIX7_PACKAGES="zabbix-agent zabbix-agent2 zabbix-sender zabbix-proxy-sqlite3 zabbix-server-pgsql"
ZABBIX7_PROGRAMS="
    usr/sbin/zabbix_agentd usr/sbin/zabbix_agent2 usr/sbin/zabbix_proxy usr/sbin/zabbix_server
    usr/bin/zabbix_sender usr/bin/zabbix_get
"
# FRONTEND: a later test of the Zabbix API runs the unpacked frontend with PHP's
# built-in server (php -S) against the lab's PostgreSQL. It needs (not installed
# here, as no test uses it yet; both frontends' Depends lines):
#   php-cli php-pgsql php-bcmath php-gd php-mbstring php-xml php-curl php-ldap fonts-dejavu-core
# (bookworm's PHP 8.2; the 7.0 frontend needs PHP >= 8.0). Its
# conf/zabbix.conf.php is written by the test; the database is the server's.

BACKPORTS_SOURCES=/etc/apt/sources.list.d/zabbix-tee-bookworm-backports.sources
BACKPORTS_PIN=/etc/apt/preferences.d/zabbix-tee-bookworm-backports

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

# bookworm-backports, for downloading the 7.0 packages: added unless a source
# already has it, and pinned below every installed version either way.
if ! grep -rqsE --exclude="$(basename "$BACKPORTS_SOURCES")" '^[^#]*bookworm-backports' \
        /etc/apt/sources.list /etc/apt/sources.list.d/; then
    cat > "$BACKPORTS_SOURCES" <<'EOF'
Types: deb
URIs: http://deb.debian.org/debian
Suites: bookworm-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
fi
cat > "$BACKPORTS_PIN" <<'EOF'
# zabbix-tee's scripts/install-test-deps.sh: bookworm-backports only for
# `apt-get download` of the Zabbix 7.0 packages; never install or upgrade from it.
Package: *
Pin: release n=bookworm-backports
Pin-Priority: 1
EOF

apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $PACKAGES $SERVER_LIBRARIES $ZABBIX7_LIBRARIES </dev/null

# Some package scripts start their daemon without invoke-rc.d, and a machine
# may have had them running before: stop and disable them all.
for service in zabbix-agent zabbix-agent2 zabbix-proxy zabbix-server postgresql carbon-cache; do
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

# unpack ROOT SUITE PACKAGE...: downloads the packages from SUITE and unpacks
# each into ROOT (no maintainer scripts run, nothing registered with dpkg).
unpack() {
    root=$1 suite=$2
    shift 2
    workdir=$(mktemp -d)
    chown _apt "$workdir" 2>/dev/null || true
    packages=""
    for package in "$@"; do packages="$packages $package/$suite"; done
    # shellcheck disable=SC2086
    (cd "$workdir" && apt-get download -qq $packages </dev/null)
    mkdir -p "$root"
    for deb in "$workdir"/*.deb; do dpkg -x "$deb" "$root"; done
    rm -rf "$workdir"
}

# Exits unless every program given links.
check_links() {
    for program in "$@"; do
        if ldd "$program" | grep -q 'not found'; then
            echo "install-test-deps.sh: $program is missing shared libraries:" >&2
            ldd "$program" | grep 'not found' >&2
            exit 1
        fi
    done
}

# Unpack zabbix-server-pgsql 6.0 (same version as the agent) unless already there.
SERVER_BIN="$ZABBIX_SERVER_ROOT/usr/sbin/zabbix_server"
if [ ! -x "$SERVER_BIN" ]; then
    unpack "$ZABBIX_SERVER_ROOT" bookworm zabbix-server-pgsql
fi
check_links "$SERVER_BIN"

# Unpack the 7.0 programs unless all of them are there.
ZABBIX7_MISSING=no
for program in $ZABBIX7_PROGRAMS; do
    [ -x "$ZABBIX7_ROOT/$program" ] || ZABBIX7_MISSING=yes
done
if [ "$ZABBIX7_MISSING" = yes ]; then
    # shellcheck disable=SC2086
    unpack "$ZABBIX7_ROOT" bookworm-backports $ZABBIX7_PACKAGES
fi
for program in $ZABBIX7_PROGRAMS; do
    check_links "$ZABBIX7_ROOT/$program"
done

# The frontends, 6.0 and 7.0, each in its own directory.
for version in 6.0 7.0; do
    suite=bookworm
    [ "$version" = 7.0 ] && suite=bookworm-backports
    if [ ! -f "$ZABBIX_FRONTEND_ROOT-$version/usr/share/zabbix/api_jsonrpc.php" ]; then
        unpack "$ZABBIX_FRONTEND_ROOT-$version" "$suite" zabbix-frontend-php
    fi
done

echo "install-test-deps.sh: ready ($("$SERVER_BIN" -V | head -n 1); $("$ZABBIX7_ROOT/usr/sbin/zabbix_server" -V | head -n 1))"
