#!/bin/sh
# Stops what a killed or crashed test run left behind from the Zabbix lab
# (Tests/TestSupport/Zabbix*.swift) and removes its directories.
#
# Lab directories are /tmp/zabbix-lab-*; each has owner.pid, the pid of the test
# process that made it. Only directories whose owner is no longer alive are
# touched, so this is safe while other test runs are going on. For each one:
#   - a PostgreSQL cluster in it gets a fast shutdown (SIGINT to the postmaster,
#     which stops its children, each in a session of its own);
#   - processes whose command line mentions the directory (zabbix_agentd,
#     zabbix_agent2, zabbix_proxy, zabbix_server) get their process group
#     SIGTERMed, then SIGKILLed after 10 s;
#   - file systems mounted inside it (the writer-fault tests' small tmpfs) are
#     unmounted;
#   - the directory is removed.
# Usage: scripts/zabbix-lab-cleanup.sh [--dry-run]
set -eu

DRY_RUN=no
[ "${1:-}" = "--dry-run" ] && DRY_RUN=yes

pids_using() {
    # pids whose command line contains $1
    for proc in /proc/[0-9]*; do
        cmdline=$(tr '\0' ' ' 2>/dev/null < "$proc/cmdline") || continue
        case "$cmdline" in *"$1"*) echo "${proc#/proc/}" ;; esac
    done
}

for dir in /tmp/zabbix-lab-*; do
    [ -d "$dir" ] || continue
    owner=$(cat "$dir/owner.pid" 2>/dev/null || echo "")
    if [ -n "$owner" ] && kill -0 "$owner" 2>/dev/null; then
        continue  # its test run is still alive
    fi
    pids=$(pids_using "$dir")
    postmaster=$(head -n 1 "$dir/data/postmaster.pid" 2>/dev/null || echo "")
    echo "stale lab $dir (owner ${owner:-unknown}): pids ${pids:-none}"
    [ "$DRY_RUN" = yes ] && continue
    if [ -n "$postmaster" ] && kill -0 "$postmaster" 2>/dev/null; then
        kill -s INT "$postmaster" 2>/dev/null || true
        for _ in 1 2 3 4 5 6 7 8 9 10; do
            kill -0 "$postmaster" 2>/dev/null || break
            sleep 1
        done
        kill -s KILL "$postmaster" 2>/dev/null || true
    fi
    groups=""
    for pid in $pids; do
        group=$(ps -o pgid= -p "$pid" 2>/dev/null | tr -d ' ') || continue
        [ -n "$group" ] && groups="$groups $group"
    done
    groups=$(echo "$groups" | tr ' ' '\n' | sort -u | grep -v '^$' || true)
    for group in $groups; do kill -s TERM -- "-$group" 2>/dev/null || true; done
    for _ in 1 2 3 4 5 6 7 8 9 10; do
        [ -z "$(pids_using "$dir")" ] && break
        sleep 1
    done
    for group in $groups; do kill -s KILL -- "-$group" 2>/dev/null || true; done
    awk -v d="$dir/" 'index($2, d) == 1 { print $2 }' /proc/self/mounts | while read -r mountpoint; do
        umount -l "$mountpoint" 2>/dev/null || true
    done
    rm -rf "$dir"
done
