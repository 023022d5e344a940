# Benchmarks/lib.sh: what run.sh and per-connection.sh share, so each fact is written once:
# the ports, the configuration templates, the variants (which exist, how each one is configured,
# checked and started) and the Debian packages they need. Sourced, not run.
#
# The sourcing script sets HERE (this directory), WORK (its scratch directory) and PROXY_CPU before
# calling anything here, and defines log and die.

BASE=${BENCH_PORT_BASE:-23100}
T_CHURN=$((BASE + 1)); T_ECHO=$((BASE + 2)); T_BULK=$((BASE + 3)); T_RIEMANN=$((BASE + 4))   # targets, sink
P_CHURN=$((BASE + 11)); P_ECHO=$((BASE + 12)); P_BULK=$((BASE + 13))                        # the proxy's listeners
ALL_PORTS="$T_CHURN $T_ECHO $T_BULK $T_RIEMANN $P_CHURN $P_ECHO $P_BULK"

# Every built-in variant, in the order tables show them: no proxy, the three references, the two
# floors, the tee relaying only and the tee with decoding and Riemann output.
BUILTIN_VARIANTS="direct haproxy haproxy-tuned nginx epoll-floor nio-floor tee tee-decode"
REFERENCE_VARIANTS="haproxy haproxy-tuned nginx"

# Tee variants: name -> configuration template. More come from --tee-variant NAME=FILE or
# --tee-variants-dir DIR (add_tee_variant), so that each relay option can be measured on its own.
declare -A TEE_TEMPLATE=(
    [tee]="$HERE/templates/tee-relay.yaml.in"
    [tee-decode]="${TEE_DECODE_TEMPLATE:-$HERE/templates/tee-decode.yaml.in}"
)
TEE_EXTRA_VARIANTS=""    # the added ones, in the order given
declare -A NA_REASON=()  # variant -> why it cannot run with this build (reported as n/a)

add_tee_variant() {  # add_tee_variant NAME=TEMPLATE
    local name=${1%%=*} file=${1#*=}
    [ "$name" != "$1" ] && [ -n "$name" ] || die "--tee-variant wants NAME=TEMPLATE, got '$1'"
    case " $BUILTIN_VARIANTS " in *" $name "*) die "--tee-variant $name: that is a built-in variant" ;; esac
    [[ $name =~ ^[a-z0-9][a-z0-9._-]*$ ]] || die "--tee-variant $name: use lower-case letters, digits, . _ -"
    [ -f "$file" ] || die "--tee-variant $name: no template $file"
    TEE_TEMPLATE[$name]=$(cd "$(dirname "$file")" && pwd)/$(basename "$file")
    TEE_EXTRA_VARIANTS="$TEE_EXTRA_VARIANTS $name"
}

add_tee_variants_dir() {  # add_tee_variants_dir DIR: every DIR/NAME.yaml.in becomes variant tee-NAME
    local f n=0
    for f in "$1"/*.yaml.in; do
        [ -f "$f" ] || continue
        add_tee_variant "tee-$(basename "$f" .yaml.in)=$f"; n=$((n + 1))
    done
    [ "$n" -gt 0 ] || die "--tee-variants-dir $1: no *.yaml.in templates there"
}

is_tee_variant() { [ -n "${TEE_TEMPLATE[$1]:-}" ]; }
variant_config() {  # where the variant's rendered configuration goes
    case "$1" in haproxy|haproxy-tuned) echo "$WORK/$1.cfg" ;; nginx) echo "$WORK/nginx.conf" ;; *) echo "$WORK/$1.yaml" ;; esac
}
# A tee variant decodes and sends to the Riemann sink when its configuration has a riemann: section.
is_decode_variant() { is_tee_variant "$1" && grep -q '^riemann:' "$(variant_config "$1")" 2>/dev/null; }

render() {  # render TEMPLATE OUT: fill in the ports (@P_*@ proxy, @T_*@ targets), @WORK@, @PROXY_CPU@
    sed -e "s|@P_CHURN@|$P_CHURN|g; s|@P_ECHO@|$P_ECHO|g; s|@P_BULK@|$P_BULK|g" \
        -e "s|@T_CHURN@|$T_CHURN|g; s|@T_ECHO@|$T_ECHO|g; s|@T_BULK@|$T_BULK|g; s|@T_RIEMANN@|$T_RIEMANN|g" \
        -e "s|@WORK@|$WORK|g; s|@PROXY_CPU@|$PROXY_CPU|g" "$1" >"$2"
}

# Renders and checks a variant's configuration with the program that will run it. A tee variant
# whose configuration this tee rejects (a key it does not know yet) is n/a, not a failure: the
# harness runs ahead of the features it measures. Needs TEE_BIN / FLOOR_DIR for those variants.
prepare_variant() {  # prepare_variant VARIANT; returns 1 (and sets NA_REASON) when n/a
    local v=$1 conf; conf=$(variant_config "$1")
    case "$v" in
        direct) ;;
        haproxy|haproxy-tuned)
            render "$HERE/templates/$v.cfg.in" "$conf"
            haproxy -c -q -f "$conf" || die "haproxy rejects $conf" ;;
        nginx)
            render "$HERE/templates/nginx.conf.in" "$conf"
            nginx -t -q -e "$WORK/nginx-error.log" -c "$conf" 2>"$WORK/nginx-check.txt" || die "nginx rejects $conf: $(cat "$WORK/nginx-check.txt")" ;;
        epoll-floor|nio-floor)
            [ -x "$FLOOR_DIR/$v" ] || { NA_REASON[$v]="no $v binary in $FLOOR_DIR"; return 1; } ;;
        *)
            is_tee_variant "$v" || die "unknown variant $v (built-in: $BUILTIN_VARIANTS; or --tee-variant NAME=TEMPLATE)"
            [ -x "${TEE_BIN:-}" ] || { NA_REASON[$v]="no zabbix-tee binary at ${TEE_BIN:-(TEE_BIN unset)}"; return 1; }
            render "${TEE_TEMPLATE[$v]}" "$conf"
            if ! "$TEE_BIN" check-config --config "$conf" >"$WORK/$v-check.txt" 2>&1; then
                NA_REASON[$v]="this tee rejects $(basename "${TEE_TEMPLATE[$v]}"): $(grep -m1 . "$WORK/$v-check.txt")"
                return 1
            fi ;;
    esac
}

proxy_command() {  # proxy_command VARIANT -> PROXY_CMD (empty for direct)
    local v=$1 conf; conf=$(variant_config "$1")
    case "$v" in
        direct) PROXY_CMD=() ;;
        haproxy|haproxy-tuned) PROXY_CMD=(haproxy -db -f "$conf") ;;
        nginx) PROXY_CMD=(nginx -e "$WORK/nginx-error.log" -c "$conf") ;;
        epoll-floor|nio-floor) PROXY_CMD=("$FLOOR_DIR/$v" "$P_CHURN" "$T_CHURN" "$P_ECHO" "$T_ECHO" "$P_BULK" "$T_BULK") ;;
        *) PROXY_CMD=("$(tee_binary "$v")" run --config "$conf") ;;
    esac
}

# The binary a tee variant runs: TEE_BIN, or TEE_BIN_<variant> (non-alphanumerics as _), so that
# two builds run side by side in one run (an A/B with a template copied under another name).
tee_binary() {
    local name="TEE_BIN_${1//[^a-zA-Z0-9]/_}"
    echo "${!name:-$TEE_BIN}"
}

variant_packages() {  # variant_packages VARIANT... -> the Debian packages their programs come from
    local v pk=""
    for v in "$@"; do
        case "$v" in
            haproxy|haproxy-tuned) pk="$pk haproxy" ;;
            nginx) pk="$pk nginx libnginx-mod-stream" ;;
        esac
    done
    echo "$pk"
}

install_packages() {  # install_packages PKG...: those not installed yet, from Debian
    local p missing="" sudo=""
    for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"; done
    [ -n "$missing" ] || return 0
    [ "$(id -u)" = 0 ] || sudo=sudo
    log "installing from Debian:$missing"
    $sudo apt-get update -qq
    # policy-rc.d (when present) keeps the packages' own haproxy/nginx services from starting.
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq $missing >/dev/null
}

port_free() { ! ss -Hltn "sport = :$1" | grep -q .; }
wait_listen() {  # wait_listen PORT PID: until PORT listens (1 if PID exits or 10 s pass)
    local i
    for i in $(seq 1 100); do
        ss -Hltn "sport = :$1" | grep -q . && return 0
        kill -0 "$2" 2>/dev/null || return 1
        sleep 0.1
    done
    return 1
}
