#!/usr/bin/env bash
# Runs every test of zabbix-tee on a fresh Debian 12 machine with Swift 6.3:
# installs the Debian packages the tests drive (real Zabbix 6.0 programs, PostgreSQL,
# riemann-c-client, protobuf-c, zlib), builds, and runs `swift test`.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" -eq 0 ]; then
    scripts/install-test-deps.sh
else
    sudo scripts/install-test-deps.sh
fi

# The /metrics test checks our exposition with the Prometheus project's own parser.
python3 -m pip install --quiet --disable-pip-version-check prometheus_client 2>/dev/null \
    || python3 -m pip install --quiet --disable-pip-version-check --break-system-packages prometheus_client

# A test run killed earlier may have left lab daemons behind; stop them.
scripts/zabbix-lab-cleanup.sh >/dev/null 2>&1 || true

swift build --build-tests
# The memory-ceiling test (Tests/EndToEndTests/MemoryCeilingTests.swift) measures the release
# binary; built here, in a scratch path of its own, so that its time shows outside the test.
swift build -c release --product zabbix-tee --scratch-path .build-release
# Serially: these tests start real daemons and push real sockets; on 2 cores, running them side by
# side only makes them compete for CPU and ports.
swift test --no-parallel "$@"
