#!/usr/bin/env bash
# zabbix-tee demo on a fresh Debian 12 machine with Swift 6.3 (run as root or with sudo):
# installs what it needs from Debian, builds zabbix-tee, starts real Zabbix 6.0 programs on
# 127.0.0.1 — zabbix_agentd, and zabbix_server on a private PostgreSQL cluster — puts the tee
# between them and their clients, shows that Zabbix gets the same answers through the tee as
# without it, and shows the Riemann events the tee made of that traffic, as received by a
# Riemann-protocol listener (`zabbix-tee riemann-listen`; no Riemann server runs here): only the
# values Zabbix accepted become events; the ones it refused are counted, not emitted.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "Installing Debian packages (Zabbix 6.0 agent, server, PostgreSQL; protobuf-c; zlib)"
if [ "$(id -u)" -eq 0 ]; then scripts/install-test-deps.sh; else sudo scripts/install-test-deps.sh; fi

step "Building zabbix-tee (release)"
swift build -c release --product zabbix-tee 2>&1 | tail -n 1
tee_bin="$root/.build/release/zabbix-tee"

work=$(mktemp -d /tmp/zabbix-tee-demo-XXXXXX)
chmod 755 "$work"
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    if declare -F pg_stop >/dev/null; then pg_stop; fi
    rm -rf "$work"
}
trap cleanup EXIT INT TERM

# Free ports Zabbix accepts (it only takes ListenPort 1024-32767).
free_port() {
    python3 -c 'import socket,random
while True:
    p=random.randint(20000,32767); s=socket.socket()
    try: s.bind(("127.0.0.1",p)); s.close(); print(p); break
    except OSError: pass'
}
wait_port() { for _ in $(seq 1 200); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.05; done; echo "nothing listens on $1" >&2; return 1; }

agent_port=$(free_port); server_port=$(free_port); pg_port=$(free_port)
tee_agents=$(free_port); tee_passive=$(free_port); riemann_port=$(free_port); admin_port=$(free_port)
server_bin=/opt/zabbix-server/usr/sbin/zabbix_server
schema=/opt/zabbix-server/usr/share/zabbix-server-pgsql
pg_bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
psql() { "$pg_bin/psql" -X -q -A -t -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$pg_port" -U zabbix "$@"; }

step "Starting PostgreSQL (port $pg_port) and a real zabbix_server 6.0 on it (port $server_port)"
mkdir -p "$work/pg"; chown postgres:postgres "$work/pg"
runuser -u postgres -- "$pg_bin/initdb" -D "$work/pg/data" -A trust -U zabbix -E UTF8 --locale=C.UTF-8 \
    --no-sync --no-instructions >/dev/null
runuser -u postgres -- "$pg_bin/pg_ctl" -D "$work/pg/data" -l "$work/pg/postgres.log" -w -t 60 \
    -o "-c listen_addresses=127.0.0.1 -p $pg_port -c unix_socket_directories=$work/pg -c fsync=off" start >/dev/null
pg_stop() { runuser -u postgres -- "$pg_bin/pg_ctl" -D "$work/pg/data" -m fast -w stop >/dev/null 2>&1 || true; }
psql -d postgres -c "CREATE DATABASE zabbix ENCODING 'UTF8' TEMPLATE template0;"
gzip -dc "$schema/schema.sql.gz" | psql -d zabbix -1 >/dev/null
# Base data only (users, config...): the rows before the first host (templates take long to load).
{ gzip -dc "$schema/data.sql.gz" | sed '/^INSERT INTO hosts /,$d'; echo 'COMMIT;'; } | psql -d zabbix >/dev/null
# One host with five trapper items (value types: 0 float, 3 unsigned, 1 character), for zabbix_sender.
{
    echo "BEGIN;"
    echo "INSERT INTO hosts (hostid, host, name, status) VALUES (1000000, 'demo-trapper', 'demo-trapper', 0);"
    id=1000001
    for item in "cpu.load:0" "disk.free:3" "os.name:1" "uptime:3" "temperature:0" "demo.ready:3"; do
        echo "INSERT INTO items (itemid, type, hostid, name, key_, value_type, delay) VALUES ($id, 2, 1000000, '${item%%:*}', '${item%%:*}', ${item##*:}, '0');"
        echo "INSERT INTO item_rtdata (itemid) VALUES ($id);"
        id=$((id + 1))
    done
    echo "COMMIT;"
} | psql -d zabbix >/dev/null
cat > "$work/server.conf" <<CONF
AllowRoot=1
ListenIP=127.0.0.1
ListenPort=$server_port
LogType=file
LogFile=$work/server.log
PidFile=$work/server.pid
SocketDir=$work
DBHost=127.0.0.1
DBPort=$pg_port
DBName=zabbix
DBUser=zabbix
CacheSize=16M
CacheUpdateFrequency=1
StartPollers=1
StartPollersUnreachable=1
StartTrappers=2
StartPingers=0
StartDiscoverers=0
StartHTTPPollers=0
StartPreprocessors=1
StartDBSyncers=1
StartReportWriters=0
HousekeepingFrequency=0
CONF
setsid "$server_bin" -f -c "$work/server.conf" >/dev/null 2>&1 & pids+=($!)
wait_port "$server_port"
for _ in $(seq 1 150); do
    zabbix_sender -z 127.0.0.1 -p "$server_port" -s demo-trapper -k demo.ready -o 1 2>/dev/null | grep -q 'processed: 1' && break
    sleep 0.2
done
echo "zabbix_server knows host demo-trapper and its trapper items cpu.load, disk.free, os.name, uptime, temperature"

step "Starting a real zabbix_agentd (port $agent_port)"
cat > "$work/agentd.conf" <<CONF
LogFile=$work/agentd.log
PidFile=$work/agentd.pid
ListenIP=127.0.0.1
ListenPort=$agent_port
Server=127.0.0.1
Hostname=demo-agent
AllowRoot=1
UserParameter=demo.answer,echo 42
CONF
setsid zabbix_agentd -f -c "$work/agentd.conf" >/dev/null 2>&1 & pids+=($!)
wait_port "$agent_port"

step "Starting a Riemann-protocol listener on 127.0.0.1:$riemann_port (zabbix-tee riemann-listen)"
setsid "$tee_bin" riemann-listen --listen "127.0.0.1:$riemann_port" >"$work/events.jsonl" 2>/dev/null & pids+=($!)
wait_port "$riemann_port"

step "Starting zabbix-tee: 127.0.0.1:$tee_agents -> server, 127.0.0.1:$tee_passive -> agent, events -> Riemann"
cat > "$work/config.yaml" <<CONF
log_level: debug
listeners:
  - name: agents
    listen: ["127.0.0.1:$tee_agents"]
    targets: ["127.0.0.1:$server_port"]
  - name: passive
    listen: ["127.0.0.1:$tee_passive"]
    targets: ["127.0.0.1:$agent_port"]
riemann:
  servers: ["127.0.0.1:$riemann_port"]
  batch: { max_events: 100, max_delay: 50ms }
admin:
  listen: "127.0.0.1:$admin_port"
CONF
"$tee_bin" check-config --config "$work/config.yaml" | head -n 1
setsid "$tee_bin" run --config "$work/config.yaml" 2>"$work/tee.log" & pids+=($!)
tee_index=$((${#pids[@]} - 1))
wait_port "$tee_agents"; wait_port "$tee_passive"; wait_port "$admin_port"

compare() {
    local label=$1 direct=$2 through=$3
    printf '%-36s direct: %-44s through the tee: %s\n' "$label" "$direct" "$through"
    [ "$direct" = "$through" ] || { echo "MISMATCH"; exit 1; }
}
fail() { echo "FAILED: $*"; exit 1; }

step "Passive checks: zabbix_get -> agent, directly and through the tee"
for key in agent.ping demo.answer agent.version no.such.key; do
    compare "zabbix_get -k $key" "$(zabbix_get -s 127.0.0.1 -p "$agent_port" -k "$key")" \
        "$(zabbix_get -s 127.0.0.1 -p "$tee_passive" -k "$key")"
done

counts() { zabbix_sender -z 127.0.0.1 -p "$1" -i "$2" 2>&1 | grep -o 'processed: [0-9]*; failed: [0-9]*; total: [0-9]*' || true; }

step "Trapper values the server refuses: zabbix_sender -> server for a host it does not know"
refused="$work/refused.txt"
printf '%s\n' 'demo-host cpu.load 0.75' 'demo-host disk.free 123456789' 'demo-host os.name "Debian GNU/Linux 12"' \
    'demo-host uptime 86400' 'demo-host temperature -3.5' > "$refused"
compare "zabbix_sender (5 values, demo-host)" "$(counts "$server_port" "$refused")" "$(counts "$tee_agents" "$refused")"
echo "(the server knows no host demo-host: it stores none of them, and says so: processed: 0)"

step "Trapper values the server accepts: zabbix_sender -> server for host demo-trapper"
accepted="$work/accepted.txt"
sed 's/^demo-host /demo-trapper /' "$refused" > "$accepted"
compare "zabbix_sender (5 values, demo-trapper)" "$(counts "$server_port" "$accepted")" "$(counts "$tee_agents" "$accepted")"
echo "(sent twice, directly and through the tee: the server stored both batches, 10 values)"

step "Riemann events the tee emitted (as the Riemann-protocol listener received them)"
for _ in $(seq 1 200); do [ "$(wc -l < "$work/events.jsonl")" -ge 9 ] && break; sleep 0.05; done
sleep 0.5  # anything else the tee might emit would arrive now
sed -e 's/^/  /' "$work/events.jsonl"
total=$(wc -l < "$work/events.jsonl")
trapper=$(grep -c '"host":"demo-trapper"' "$work/events.jsonl" || true)
refused_events=$(grep -c '"host":"demo-host"' "$work/events.jsonl" || true)
echo "  ($total events: numbers became metric_sint64/metric_d, text became the description,"
echo "   the unsupported key a critical event; passive checks are named after the agent's address)"
echo
echo "The 5 values the server accepted through the tee (host demo-trapper): $trapper events."
echo "The 5 values the server refused (host demo-host):                     $refused_events events — not emitted:"
echo "an event means Zabbix stored the value."
[ "$trapper" -eq 5 ] || fail "expected 5 events for demo-trapper, got $trapper"
[ "$refused_events" -eq 0 ] || fail "values the server refused were emitted"
[ "$total" -eq 9 ] || fail "expected 9 events (4 passive checks, 5 accepted values), got $total"

step "What zabbix-tee counted (GET http://127.0.0.1:$admin_port/metrics)"
metrics=$(curl -s "http://127.0.0.1:$admin_port/metrics")
echo "$metrics" | grep -E '^zabbix_tee_item_values_(total|rejected_total\{reason="none_processed"\})' | sed -e 's/^/  /'
rejected=$(echo "$metrics" | grep '^zabbix_tee_item_values_rejected_total{reason="none_processed"}' | awk '{print $2}')
[ "$rejected" = "5" ] || fail "expected zabbix_tee_item_values_rejected_total{reason=\"none_processed\"} 5, got ${rejected:-nothing}"
echo "  (the 5 refused values: counted as rejected, never sent to Riemann)"

step "What the Zabbix server stored for demo-trapper (its history tables)"
stored() {
    psql -d zabbix -c "SELECT (SELECT count(*) FROM history WHERE itemid IN (1000001, 1000005))
        + (SELECT count(*) FROM history_uint WHERE itemid IN (1000002, 1000004)) + (SELECT count(*) FROM history_str WHERE itemid = 1000003)"
}
# The server's history syncer writes within a second or so.
for _ in $(seq 1 100); do [ "$(stored)" -ge 10 ] && break; sleep 0.1; done
psql -d zabbix -F " " -c "SELECT i.key_, h.value::text FROM items i JOIN history h USING (itemid) WHERE i.hostid = 1000000
    UNION ALL SELECT i.key_, h.value::text FROM items i JOIN history_uint h USING (itemid) WHERE i.hostid = 1000000 AND i.key_ <> 'demo.ready'
    UNION ALL SELECT i.key_, h.value FROM items i JOIN history_str h USING (itemid) WHERE i.hostid = 1000000 ORDER BY 1" | sed -e 's/^/  /'

step "What zabbix-tee logged"
sed -e 's/^/  /' "$work/tee.log" | grep -E "listening|connection relayed" | head -n 8
echo "  ... $(grep -c 'connection closed' "$work/tee.log") connections relayed and closed"

step "Stopping zabbix-tee with SIGTERM"
tee_pid=${pids[$tee_index]}
kill -TERM "$tee_pid"; wait "$tee_pid" && echo "zabbix-tee exited with status 0"
unset "pids[$tee_index]"
echo
echo "Done: every answer was identical with and without the tee; the values Zabbix accepted became"
echo "Riemann events, the ones it refused did not (and were counted)."
