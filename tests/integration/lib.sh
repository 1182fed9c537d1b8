# lib.sh - shared helpers for the end-to-end tests (sourced, POSIX sh + bash).
#
# Each test starts the real binaries on loopback with ephemeral ports,
# asserts on what real clients see, and stops what it started (trap).
set -u

top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir}
SCWSEMU=$top_builddir/src/scwsemu
SCWSEMU_CARD=$top_builddir/src/scwsemu-card
SCWSEMU_FETCH=$top_builddir/src/scwsemu-fetch
CARDS=$top_srcdir/cards
CA=$top_srcdir/pki/scws-ca.crt
BOOT=/OMA/DM/Bootstrap.xml

T_PASS=0
T_FAIL=0
T_TMP=$(mktemp -d "${TMPDIR:-/tmp}/scwsemu-test.XXXXXX")
T_PIDS=""

cleanup() {
	for p in $T_PIDS; do
		kill "$p" 2>/dev/null
	done
	for p in $T_PIDS; do
		wait "$p" 2>/dev/null
	done
	rm -rf "$T_TMP"
}
trap cleanup EXIT

ok() {
	T_PASS=$((T_PASS + 1))
	echo "ok - $*"
}

not_ok() {
	T_FAIL=$((T_FAIL + 1))
	echo "not ok - $*"
}

# check DESCRIPTION COMMAND...: passes when the command exits 0.
check() {
	local what=$1
	shift
	if "$@"; then ok "$what"; else not_ok "$what"; fi
}

# expect_eq DESCRIPTION EXPECTED ACTUAL
expect_eq() {
	if [ "$2" = "$3" ]; then
		ok "$1"
	else
		not_ok "$1: expected '$2', got '$3'"
	fi
}

# expect_match DESCRIPTION REGEX TEXT
expect_match() {
	if printf '%s' "$3" | grep -Eq -- "$2"; then
		ok "$1"
	else
		not_ok "$1: '$2' not found in: $(printf '%s' "$3" | head -c 600)"
	fi
}

skip_all() {
	echo "SKIP: $*"
	exit 77
}

need() {
	for c in "$@"; do
		command -v "$c" >/dev/null 2>&1 || skip_all "$c not installed"
	done
}

# finish: prints the count and exits non-zero on any failure.
finish() {
	echo "$T_PASS passed, $T_FAIL failed"
	[ "$T_FAIL" -eq 0 ]
}

# start_scwsemu NAME [args...]: starts the daemon with a ready file, waits for
# it, and sets $PID_<NAME>, $LOG_<NAME>, $READY_<NAME>.
start_scwsemu() {
	local name=$1
	shift
	local ready=$T_TMP/$name.ready log=$T_TMP/$name.log
	"$SCWSEMU" --ready-file "$ready" "$@" 2>"$log" &
	local pid=$!
	T_PIDS="$T_PIDS $pid"
	local i=0
	while [ ! -s "$ready" ]; do
		if ! kill -0 "$pid" 2>/dev/null; then
			echo "scwsemu ($name) exited early:" >&2
			cat "$log" >&2
			return 1
		fi
		i=$((i + 1))
		if [ $i -gt 200 ]; then
			echo "scwsemu ($name) not ready after 10 s" >&2
			cat "$log" >&2
			return 1
		fi
		sleep 0.05
	done
	eval "PID_$name=$pid LOG_$name=$log READY_$name=$ready"
}

# ready_port READYFILE TRANSPORT HOST [CARDPORT]: the host port of an endpoint.
ready_port() {
	python3 - "$@" <<'PY'
import json, sys
f, transport, host = sys.argv[1:4]
card = int(sys.argv[4]) if len(sys.argv) > 4 else None
for e in json.load(open(f))["endpoints"]:
    if e["transport"] == transport and e["host"] == host and (card is None or e["card_port"] == card):
        print(e["port"]); break
PY
}

# wait_for SECONDS CMD...: runs CMD every 50 ms until it succeeds (0) or
# SECONDS pass (1). A wait on a condition, never a fixed sleep.
wait_for() {
	local n=$(($1 * 20))
	shift
	until "$@" >/dev/null 2>&1; do
		n=$((n - 1))
		[ $n -gt 0 ] || return 1
		sleep 0.05
	done
}

# log_grown FILE REGEX N: FILE has more than N lines matching REGEX.
log_grown() {
	[ "$(grep -cE "$2" "$1")" -gt "$3" ]
}

# make_card DIR NAME N: a card profile in DIR (the auth card's, paths made
# absolute) named NAME, whose bootstrap names dm-N.example.com and whose
# credentials are user-N / pass-N: the cards of a rack that differ.
make_card() {
	local dir=$1
	mkdir -p "$dir"
	sed "s|dm.example.com|dm-$3.example.com|" "$CARDS/default/bootstrap.xml" >"$dir/bootstrap.xml"
	sed -e "s|\"\\.\\./\\.\\./|\"$top_srcdir/|g" -e "s|\"\\.\\./|\"$CARDS/|g" \
		-e "s|^name = .*|name = \"$2\";|" \
		-e "s|\"dmuser\"|\"user-$3\"|" -e "s|\"s3cret-pass\"|\"pass-$3\"|" \
		-e "s|source = .*|source = \"bootstrap.xml\";|" \
		"$CARDS/auth/card.conf" >"$dir/card.conf"
}

stop_pid() {
	kill "$1" 2>/dev/null
	wait "$1" 2>/dev/null
}
