#!/bin/bash
# pcsc_lib.sh - a private pcscd for end-to-end tests over PC/SC (sourced after
# lib.sh): vsmartcard's vpcd on free TCP ports in a mount namespace where
# /run/pcscd is a directory of the test, clients find it through
# PCSCLITE_CSOCK_NAME, pcscd is stopped by the EXIT trap. pcsc.sh and
# pcsc_card.sh source it. Provides start_pcscd, stop_pcscd, wait_for,
# start_card NAME DIR PORT, card_in_reader, log_has; $GW (the gateway
# without TCP/IP), $VPORT (slot 0; slot 1 is VPORT+1), $HP, $R0, $R1.
VPCD_SO=""
for d in /usr/lib/pcsc/drivers/serial /usr/lib/*/pcsc/drivers/serial \
	/usr/local/lib/pcsc/drivers/serial /usr/lib64/pcsc/drivers/serial; do
	[ -e "$d/libifdvpcd.so" ] && VPCD_SO=$d/libifdvpcd.so && break
done
[ -n "$VPCD_SO" ] || skip_all "vsmartcard's vpcd driver (libifdvpcd.so) not installed"
"$SCWSEMU" --help 2>&1 | grep -q -- '--vpcd' || skip_all "scwsemu has no --vpcd"

GW=("$SCWSEMU" --no-tcpip)

# ---- a private pcscd ----------------------------------------------------------

RUN=$T_TMP/run
CONF=$T_TMP/reader.conf.d
mkdir -p "$RUN" "$CONF"
if [ -d /run/pcscd ]; then
	# shellcheck disable=SC2016
	NS_SETUP='mount --bind "$1" /run/pcscd'
	SOCK=$RUN/pcscd.comm
else
	# No /run/pcscd to cover: cover /run (in pcscd's namespace only).
	mkdir -p "$RUN/pcscd"
	# shellcheck disable=SC2016
	NS_SETUP='mount --bind "$1" /run'
	SOCK=$RUN/pcscd/pcscd.comm
fi
UNSHARE=(unshare -m)
[ "$(id -u)" = 0 ] || UNSHARE=(unshare -r -m)
"${UNSHARE[@]}" sh -c "$NS_SETUP" sh "$RUN" 2>/dev/null ||
	skip_all "no mount namespace for a private pcscd (${UNSHARE[*]})"
export PCSCLITE_CSOCK_NAME=$SOCK

# vpcd listens on PORT for slot 0 and PORT+1 for slot 1; HP is the gateway's 4116.
read -r VPORT HP <<EOF
$(python3 - <<'PY'
import random, socket
def free(p):
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", p)); return True
    except OSError:
        return False
    finally:
        s.close()
while True:
    p = random.randrange(20000, 60000)
    if free(p) and free(p + 1):
        break
s = socket.socket(); s.bind(("127.0.0.1", 0)); h = s.getsockname()[1]; s.close()
print(p, h)
PY
)
EOF
cat >"$CONF/vpcd" <<EOF
FRIENDLYNAME "Virtual PCD"
DEVICENAME   /dev/null:$VPORT
LIBPATH      $VPCD_SO
CHANNELID    $VPORT
EOF
R0="Virtual PCD 00 00"
R1="Virtual PCD 00 01"
PCSCD_PID=""

start_pcscd() {
	"${UNSHARE[@]}" sh -c "$NS_SETUP && exec pcscd -f -c \"\$2\"" sh "$RUN" "$CONF" \
		>>"$T_TMP/pcscd.log" 2>&1 &
	PCSCD_PID=$!
	local i=0
	while [ ! -S "$SOCK" ] || ! kill -0 "$PCSCD_PID" 2>/dev/null; do
		i=$((i + 1))
		if [ $i -gt 100 ] || ! kill -0 "$PCSCD_PID" 2>/dev/null; then
			echo "pcscd did not start:" >&2
			cat "$T_TMP/pcscd.log" >&2
			return 1
		fi
		sleep 0.05
	done
}

stop_pcscd() {
	[ -n "$PCSCD_PID" ] || return 0
	kill "-${1:-TERM}" "$PCSCD_PID" 2>/dev/null
	wait "$PCSCD_PID" 2>/dev/null
	PCSCD_PID=""
}

pcsc_cleanup() {
	stop_pcscd
	if [ -n "${PCSC_TEST_KEEP:-}" ]; then
		echo "logs kept in $T_TMP"
		T_TMP=/nonexistent-kept
	fi
}
trap 'pcsc_cleanup; cleanup' EXIT

# wait_for SECONDS COMMAND...: retries the command every 0.1 s.
wait_for() {
	local n=$(($1 * 10))
	shift
	while [ $n -gt 0 ]; do
		"$@" >/dev/null 2>&1 && return 0
		n=$((n - 1))
		sleep 0.1
	done
	return 1
}

# start_card NAME DIR PORT: scwsemu --card DIR on vpcd at PORT (no ready file in
# that mode: waits for the connection), sets $PID_<NAME> and $LOG_<NAME>.
start_card() {
	local log=$T_TMP/$1.log
	"$SCWSEMU" --card "$2" --vpcd "127.0.0.1:$3" --no-tcpip --no-bip 2>>"$log" &
	local pid=$!
	T_PIDS="$T_PIDS $pid"
	eval "PID_$1=$pid LOG_$1=$log"
	if ! wait_for 10 grep -q 'connected to vpcd' "$log"; then
		echo "scwsemu --vpcd ($1) did not reach vpcd:" >&2
		cat "$log" >&2
		return 1
	fi
	# vpcd connected is not yet a card in the reader: pcscd sees it at
	# its next poll of the slot (slot 0 at VPORT, slot 1 at VPORT + 1).
	local reader=$R0
	[ "$3" = "$VPORT" ] || reader=$R1
	# Without scriptor (pcsc.sh does not need it) the caller waits itself.
	command -v scriptor >/dev/null 2>&1 || return 0
	if ! wait_for 10 card_in_reader "$reader"; then
		echo "pcscd did not see the card ($1) in '$reader'" >&2
		return 1
	fi
}

# card_in_reader READER: pcscd has a card there that answers a SELECT of the MF.
card_in_reader() {
	echo "00 A4 00 0C 02 3F 00" | timeout 10 scriptor -r "$1" 2>&1 | grep -q '^< 90 00'
}

# log_has FILE REGEX [N]: the file holds more than N lines matching (N: 0).
log_has() {
	[ "$(grep -Ec -- "$2" "$1")" -gt "${3:-0}" ]
}

