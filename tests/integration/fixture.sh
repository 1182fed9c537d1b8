#!/bin/bash
# fixture.sh - scwsemu as a CI fixture and on a first run: the ready file
# (stale, live, written only when every port listens, carries the CA), a
# port already in use (one line, exit 1), bad usage (exit 2), -h, --card
# NAME, --print-paths, SIGHUP that changes ports, --check-setup with and
# without the /etc/hosts line (in a private mount namespace).
. "$(dirname "$0")/lib.sh"
need python3 curl

json() { # json FILE EXPR: a value of the ready file, with d the parsed object
	python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$@"
}
errors() { grep -c ' error ' "$1"; }

# ---- usage --------------------------------------------------------------------
expect_eq "-h is --help" "$("$SCWSEMU" --help)" "$("$SCWSEMU" -h)"
expect_match "--help names --check-setup and --print-paths" 'check-setup.*print-paths' \
	"$("$SCWSEMU" -h | tr '\n' ' ')"
"$SCWSEMU" --no-bip --no-tcpip 2>"$T_TMP/none.err"
expect_eq "--no-bip --no-tcpip with nothing else exits 2" 2 $?
expect_match "... saying there is nothing to serve" \
	'error main: --no-bip and --no-tcpip leave nothing to serve' "$(cat "$T_TMP/none.err")"

# ---- --card NAME, --print-paths, the CA in the ready file -----------------------
out=$(cd / && "$SCWSEMU" --print-paths)
expect_match "--print-paths: data directory" "^data directory: $(cd "$top_srcdir" && pwd -P)\$" "$out"
names=$(cd "$top_srcdir/cards" && for c in */card.conf; do printf ' %s' "${c%/card.conf}"; done)
expect_match "--print-paths: the shipped cards by name (auth and default among them)" \
	"^cards: +.*/cards:$names\$" "$out"
expect_match "... auth and default among them" '^cards: .* auth default ' "$out"
expect_match "--print-paths: the card is cards/default" '^card: +.*/cards/default$' "$out"
expect_match "--print-paths: the CA file" "^CA file: +$(cd "$top_srcdir/pki" && pwd -P)/scws-ca.crt\$" "$out"
expect_match "--print-paths --card auth" '^card: +.*/cards/auth$' \
	"$(cd / && "$SCWSEMU" --card auth --print-paths)"

start_scwsemu auth --card auth --no-bip --tcpip 127.0.0.1:0 || exit 1
expect_match "--card auth from / finds the shipped card" '/cards/auth$' "$(json "$READY_auth" 'd["card"]')"
expect_eq "the ready file carries the CA path" "$(cd "$top_srcdir/pki" && pwd -P)/scws-ca.crt" \
	"$(json "$READY_auth" 'd["ca"]')"
expect_eq "the ready file is mode 0644" 644 "$(stat -c %a "$READY_auth")"
P=$(ready_port "$READY_auth" tcpip 127.0.0.1)
st=$(curl -sS -o /dev/null -w '%{http_code}' --cacert "$(json "$READY_auth" 'd["ca"]')" \
	--resolve "localuicc:$P:127.0.0.1" "https://localuicc:$P$BOOT" -u dmuser:s3cret-pass 2>&1)
expect_match "curl trusts the CA the ready file names" '^[0-9]{3}$' "$st"
"$SCWSEMU" --card no-such-card --no-bip --tcpip 127.0.0.1:0 2>"$T_TMP/nocard.err"
expect_eq "--card with an unknown name exits 2" 2 $?
stop_pid "$PID_auth"
check "the ready file is removed at exit" test ! -e "$READY_auth"

# ---- the ready file: live, stale ------------------------------------------------
start_scwsemu live --card "$CARDS/default" --no-bip --tcpip 127.0.0.1:0 || exit 1
cp "$READY_live" "$T_TMP/live.copy"
"$SCWSEMU" --card "$CARDS/default" --no-bip --tcpip 127.0.0.1:0 --ready-file "$READY_live" \
	2>"$T_TMP/live2.err"
expect_eq "a ready file of a running scwsemu exits 2" 2 $?
expect_match "... naming its pid" "ready file .*live\.ready belongs to scwsemu pid $PID_live, which is still running" \
	"$(cat "$T_TMP/live2.err")"
check "... and leaves that file alone" cmp -s "$T_TMP/live.copy" "$READY_live"
stop_pid "$PID_live"

sleep 0 & gone=$!
wait $gone
printf '{"pid": %d, "endpoints": [{"port": 1}]}\n' "$gone" >"$T_TMP/stale.ready"
# The stale file must be gone before the daemon gets far: a profile that
# fails to load exits 2 without writing, and the stale file is gone anyway.
"$SCWSEMU" --card "$T_TMP/none" --ready-file "$T_TMP/stale.ready" 2>"$T_TMP/stale.err"
expect_eq "a bad card still exits 2" 2 $?
check "the stale ready file (its pid is gone) was removed first" test ! -e "$T_TMP/stale.ready"
expect_match "... saying so" "removed the stale ready file .*stale\.ready \(pid $gone is gone\)" \
	"$(cat "$T_TMP/stale.err")"
printf '{"pid": %d}\n' "$$" >"$T_TMP/pidof-bash.ready"
"$SCWSEMU" --card "$T_TMP/none" --ready-file "$T_TMP/pidof-bash.ready" 2>/dev/null
check "a ready file naming a live process that is not scwsemu is stale" test ! -e "$T_TMP/pidof-bash.ready"

# ---- a port already in use: one line, exit 1, no ready file ---------------------
start_scwsemu hold --card "$CARDS/default" --no-tcpip --port-map 4116=0 --port-map 3516=0 || exit 1
HP=$(ready_port "$READY_hold" bip 127.0.0.1 4116)
"$SCWSEMU" --card "$CARDS/default" --no-tcpip --port-map "4116=$HP" --port-map 3516=0 \
	--ready-file "$T_TMP/clash.ready" 2>"$T_TMP/clash.err"
expect_eq "a BIP port in use exits 1" 1 $?
expect_match "... one line: address, port, another process, --port-map 4116=0" \
	"error bip: cannot listen on 127\.0\.0\.1:$HP: Address already in use: another process holds port $HP \(stop it, or give --port-map 4116=0 for an ephemeral port\)" \
	"$(cat "$T_TMP/clash.err")"
expect_eq "... and no other error line" 1 "$(errors "$T_TMP/clash.err")"
expect_eq "... and no gateway warning per channel" 0 "$(grep -c 'warn  bip' "$T_TMP/clash.err")"
check "... and no ready file" test ! -e "$T_TMP/clash.ready"
# Another process holds a port: a listener of python's, whose port we read.
python3 -c 'import socket,sys,time
s=socket.socket(); s.bind(("127.0.0.1",0)); s.listen()
open(sys.argv[1]+".tmp","w").write(str(s.getsockname()[1])); __import__("os").rename(sys.argv[1]+".tmp",sys.argv[1])
time.sleep(60)' "$T_TMP/tp" &
T_PIDS="$T_PIDS $!"
for _ in $(seq 100); do [ -s "$T_TMP/tp" ] && break; sleep 0.05; done
TP=$(cat "$T_TMP/tp")
"$SCWSEMU" --card "$CARDS/default" --no-bip --tcpip "127.0.0.1:$TP" 2>"$T_TMP/tclash.err"
expect_eq "a TCP/IP port in use exits 1" 1 $?
expect_match "... one line naming --tcpip 127.0.0.1:0" \
	"error tcpip: cannot listen on 127\.0\.0\.1:$TP: Address already in use: another process holds port $TP \(stop it, or give --tcpip 127\.0\.0\.1:0 for an ephemeral port\)" \
	"$(cat "$T_TMP/tclash.err")"
stop_pid "$PID_hold"

# ---- SIGHUP that changes the card's ports waits for a restart -------------------
cp -r "$CARDS/default" "$T_TMP/hup"
sed -i "s|\.\./\.\./pki|$top_srcdir/pki|" "$T_TMP/hup/card.conf"
start_scwsemu hup --card "$T_TMP/hup" --no-tcpip --port-map 4116=0 --port-map 3516=0 || exit 1
sed -i 's/channels = 5;/channels = 4;/' "$T_TMP/hup/card.conf"
kill -HUP "$PID_hup"
for _ in $(seq 50); do grep -q 'reloaded card' "$LOG_hup" && break; sleep 0.1; done
expect_match "SIGHUP with other channel counts says they wait for a restart" \
	"warn  main: SIGHUP: the card's ports or channel counts changed; they wait for a restart" \
	"$(cat "$LOG_hup")"
stop_pid "$PID_hup"

# ---- defaults that cannot be bound: one warning each, pointing to --check-setup --
unpriv=$(cat /proc/sys/net/ipv4/ip_unprivileged_port_start 2>/dev/null || echo 0)
if command -v setpriv >/dev/null && [ "$unpriv" -gt 443 ] &&
	setpriv --reuid=65534 --regid=65534 --clear-groups "$SCWSEMU" --version >/dev/null 2>&1; then
	chmod 0711 "$T_TMP"
	mkdir -m 0777 "$T_TMP/nobody"
	setpriv --reuid=65534 --regid=65534 --clear-groups "$SCWSEMU" --card "$CARDS/default" \
		--port-map 4116=0 --port-map 3516=0 --ready-file "$T_TMP/nobody/r.json" \
		2>"$T_TMP/nobody/log" &
	np=$!
	T_PIDS="$T_PIDS $np"
	for _ in $(seq 100); do [ -s "$T_TMP/nobody/r.json" ] && break; sleep 0.05; done
	expect_eq "443 without privilege: one warning per default address" 2 \
		"$(grep -c 'warn  tcpip: cannot listen on .*:443: Permission denied; skipping this default address (scwsemu --check-setup says how' "$T_TMP/nobody/log")"
	check "... and the BIP endpoints are served (ready file)" test -s "$T_TMP/nobody/r.json"
	out=$(cd / && setpriv --reuid=65534 --regid=65534 --clear-groups "$SCWSEMU" --check-setup)
	expect_match "--check-setup unprivileged: setcap and the sysctl" \
		"fix: 127\.0\.0\.1:443 cannot be bound by this user .*sudo setcap cap_net_bind_service=\+ep $SCWSEMU .*sysctl -w net\.ipv4\.ip_unprivileged_port_start=443" "$out"
	stop_pid "$np"
else
	echo "# (443 is bindable by everyone here, or setpriv cannot run the binary: unprivileged case not run)"
fi

# ---- --check-setup, with and without the /etc/hosts line -------------------------
UNSHARE=(unshare -m)
[ "$(id -u)" = 0 ] || UNSHARE=(unshare -r -m)
if "${UNSHARE[@]}" true 2>/dev/null; then
	grep -v localuicc /etc/hosts >"$T_TMP/hosts.without"
	{ cat "$T_TMP/hosts.without"; echo '127.0.0.1 localuicc'; echo '::1 localuicc'; } >"$T_TMP/hosts.with"
	# check_in HOSTS [args]: --check-setup with /etc/hosts replaced, in a
	# private mount namespace; output in $out, exit status in $rc.
	check_in() {
		local hosts=$1
		shift
		out=$("${UNSHARE[@]}" sh -c 'mount --bind "$1" /etc/hosts && shift && exec "$@"' sh \
			"$hosts" "$SCWSEMU" --check-setup "$@" 2>&1)
		rc=$?
	}
	check_in "$T_TMP/hosts.without"
	expect_eq "--check-setup without the hosts line exits 1" 1 "$rc"
	expect_match "... fix: the IPv4 /etc/hosts line" \
		"^fix: localuicc does not resolve to an IPv4 loopback address: echo '127\.0\.0\.1 localuicc' \| sudo tee -a /etc/hosts\$" "$out"
	expect_match "... fix: the IPv6 /etc/hosts line" \
		"^fix: localuicc does not resolve to ::1: echo '::1 localuicc' \| sudo tee -a /etc/hosts\$" "$out"
	expect_match "... a line for the default 127.0.0.1:443" '^(ok: |fix:) 127\.0\.0\.1:443 ' "$out"
	expect_match "... a line for the default [::1]:443" '^(ok: |fix:) \[::1\]:443 ' "$out"
	expect_match "... the CA file is readable" "^ok:  the card's CA file .*/scws-ca\.crt is readable\$" "$out"
	expect_match "... how to trust it with curl" '^ +curl: +curl --cacert .*/scws-ca\.crt' "$out"
	expect_match "... Python" '^ +Python: +SSL_CERT_FILE=' "$out"
	expect_match "... Android" '^ +Android: +adb push ' "$out"
	expect_match "... the count" '^[0-9]+ requirements? to fix' "$out"

	SSL_CERT_FILE=$CA check_in "$T_TMP/hosts.with" --tcpip 127.0.0.1:0 --tcpip '[::1]:0'
	expect_eq "--check-setup with the hosts line and the CA trusted exits 0" 0 "$rc"
	expect_match "... localuicc resolves (IPv4)" '^ok:  localuicc resolves to 127\.0\.0\.1 \(IPv4 loopback\)$' "$out"
	expect_match "... localuicc resolves (IPv6)" '^ok:  localuicc resolves to ::1 \(IPv6 loopback\)$' "$out"
	expect_match "... the trust store has the CA" "^ok:  OpenSSL's default trust store \(curl, Python\) trusts the test CA\$" "$out"
	expect_match "... and says so" '^everything https://localuicc:443 needs is in place$' "$out"
	expect_eq "... with no fix line" 0 "$(printf '%s\n' "$out" | grep -c '^fix:')"

	check_in "$T_TMP/hosts.with" --tcpip "127.0.0.1:$TP"
	expect_match "--check-setup names a port another process holds" \
		"^fix: 127\.0\.0\.1:$TP is held by another process: sudo ss -ltnp 'sport = :$TP' names it" "$out"
else
	echo "# no mount namespace here: --check-setup is checked on this machine's /etc/hosts only"
	"$SCWSEMU" --check-setup >"$T_TMP/cs.out"
	expect_match "--check-setup: a localuicc line" '^(ok: |fix:) localuicc ' "$(cat "$T_TMP/cs.out")"
fi

finish
