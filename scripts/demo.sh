#!/usr/bin/env bash
# zabbix-tee demo on a fresh Debian 12 machine with Swift 6.3 (run as root or with sudo):
# installs what it needs from Debian, builds zabbix-tee, starts real Zabbix 6.0 programs on
# 127.0.0.1, puts the tee between them, shows that Zabbix gets the same answers through the tee
# as without it, and shows the Riemann events the tee made of that traffic, as received by a
# Riemann-protocol listener (`zabbix-tee riemann-listen`; no Riemann server runs here).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "Installing Debian packages (Zabbix 6.0 agent, agent2, proxy; protobuf-c; zlib)"
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

agent_port=$(free_port); proxy_port=$(free_port); tee_agents=$(free_port); tee_passive=$(free_port); riemann_port=$(free_port)

step "Starting a real zabbix_agentd (port $agent_port) and zabbix_proxy (port $proxy_port)"
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
cat > "$work/proxy.conf" <<CONF
LogFile=$work/proxy.log
PidFile=$work/proxy.pid
DBName=$work/proxy.db
ListenIP=127.0.0.1
ListenPort=$proxy_port
ProxyMode=1
Server=127.0.0.1
Hostname=demo-proxy
AllowRoot=1
SocketDir=$work
CacheSize=8M
StartPollers=1
StartPollersUnreachable=1
StartTrappers=2
StartPingers=0
StartDiscoverers=0
StartHTTPPollers=0
StartPreprocessors=1
StartDBSyncers=1
StartHistoryPollers=0
CONF
setsid zabbix_agentd -f -c "$work/agentd.conf" >/dev/null 2>&1 & pids+=($!)
setsid zabbix_proxy -f -c "$work/proxy.conf" >/dev/null 2>&1 & pids+=($!)
wait_port "$agent_port"; wait_port "$proxy_port"

step "Starting a Riemann-protocol listener on 127.0.0.1:$riemann_port (zabbix-tee riemann-listen)"
setsid "$tee_bin" riemann-listen --listen "127.0.0.1:$riemann_port" >"$work/events.jsonl" 2>/dev/null & pids+=($!)
wait_port "$riemann_port"

step "Starting zabbix-tee: 127.0.0.1:$tee_agents -> proxy, 127.0.0.1:$tee_passive -> agent, events -> Riemann"
cat > "$work/config.yaml" <<CONF
log_level: debug
listeners:
  - name: agents
    listen: ["127.0.0.1:$tee_agents"]
    targets: ["127.0.0.1:$proxy_port"]
  - name: passive
    listen: ["127.0.0.1:$tee_passive"]
    targets: ["127.0.0.1:$agent_port"]
riemann:
  servers: ["127.0.0.1:$riemann_port"]
  batch: { max_events: 100, max_delay: 50ms }
admin:
  listen: "off"
CONF
"$tee_bin" check-config --config "$work/config.yaml" | head -n 1
setsid "$tee_bin" run --config "$work/config.yaml" 2>"$work/tee.log" & pids+=($!)
wait_port "$tee_agents"; wait_port "$tee_passive"

compare() {
    local label=$1 direct=$2 through=$3
    printf '%-36s direct: %-44s through the tee: %s\n' "$label" "$direct" "$through"
    [ "$direct" = "$through" ] || { echo "MISMATCH"; exit 1; }
}

step "Passive checks: zabbix_get -> agent, directly and through the tee"
for key in agent.ping demo.answer agent.version no.such.key; do
    compare "zabbix_get -k $key" "$(zabbix_get -s 127.0.0.1 -p "$agent_port" -k "$key")" \
        "$(zabbix_get -s 127.0.0.1 -p "$tee_passive" -k "$key")"
done

step "Trapper values: zabbix_sender -> proxy, directly and through the tee"
values="$work/values.txt"
printf '%s\n' 'demo-host cpu.load 0.75' 'demo-host disk.free 123456789' 'demo-host os.name "Debian GNU/Linux 12"' \
    'demo-host uptime 86400' 'demo-host temperature -3.5' > "$values"
direct=$(zabbix_sender -z 127.0.0.1 -p "$proxy_port" -i "$values" 2>&1 | grep -o 'processed: [0-9]*; failed: [0-9]*; total: [0-9]*' || true)
through=$(zabbix_sender -z 127.0.0.1 -p "$tee_agents" -i "$values" 2>&1 | grep -o 'processed: [0-9]*; failed: [0-9]*; total: [0-9]*' || true)
compare "zabbix_sender (5 values)" "$direct" "$through"
echo "(the proxy has no server behind it, so it fails values for unknown hosts: the same answer both ways)"

step "Riemann events the tee emitted (as the Riemann-protocol listener received them)"
for _ in $(seq 1 100); do [ "$(wc -l < "$work/events.jsonl")" -ge 9 ] && break; sleep 0.05; done
sed -e 's/^/  /' "$work/events.jsonl"
echo "  ($(wc -l < "$work/events.jsonl") events: numbers became metric_sint64/metric_d, text became the description,"
echo "   the unsupported key a critical event; passive checks are named after the agent's address)"

step "What zabbix-tee logged"
sed -e 's/^/  /' "$work/tee.log" | grep -E "listening|connection relayed" | head -n 8
echo "  ... $(grep -c 'connection closed' "$work/tee.log") connections relayed and closed"

step "Stopping zabbix-tee with SIGTERM"
kill -TERM "${pids[3]}"; wait "${pids[3]}" && echo "zabbix-tee exited with status 0"
pids=("${pids[@]:0:3}")
echo
echo "Done: every answer was identical with and without the tee, and the traffic became Riemann events."
