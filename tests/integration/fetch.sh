#!/bin/bash
# fetch.sh - scwsemu-fetch against the real daemon in TCP/IP mode on
# ephemeral loopback ports: every exit status (0, 3, 4, 1 with the failed
# step named, 2), certificate and PSK TLS, IPv4, IPv6 literal, localuicc
# through --resolve, --auto with --connect-to standing in for the fixed
# ports 4116/443, -o, --xml, -v (never the passphrase), and a short load run.
. "$(dirname "$0")/lib.sh"
need python3 openssl

F=$SCWSEMU_FETCH
PSK=scwsemu:00112233445566778899AABBCCDDEEFF
PASS=s3cret-pass

"$SCWSEMU_CARD" bootstrap "$CARDS/default" >"$T_TMP/expected.wbxml" || exit 1
"$SCWSEMU_CARD" bootstrap "$CARDS/default" --xml >"$T_TMP/expected.xml" || exit 1

# A loopback port nobody listens on (bound, then released).
free_port() {
	python3 -c 'import socket,sys; s=socket.socket(socket.AF_INET6 if ":" in sys.argv[1] else socket.AF_INET); s.bind((sys.argv[1],0)); print(s.getsockname()[1])' "$1"
}

# run NAME ARGS...: runs scwsemu-fetch; status in $rc, stdout in
# $T_TMP/NAME.out, stderr in $err.
run() {
	local name=$1
	shift
	timeout 30 "$F" "$@" >"$T_TMP/$name.out" 2>"$T_TMP/$name.err"
	rc=$?
	err=$(cat "$T_TMP/$name.err")
}

start_scwsemu def --card "$CARDS/default" --no-bip --tcpip 127.0.0.1:0 --tcpip '[::1]:0' || exit 1
P4=$(ready_port "$READY_def" tcpip 127.0.0.1)
P6=$(ready_port "$READY_def" tcpip ::1)
U4=https://127.0.0.1:$P4$BOOT
U6=https://[::1]:$P6$BOOT

# ---- 0: the bootstrap, byte for byte
run post4 "$U4"
expect_eq "IPv4 certificate POST exits 0" 0 "$rc"
check "... stdout is the card's WBXML bootstrap" cmp -s "$T_TMP/post4.out" "$T_TMP/expected.wbxml"
expect_eq "... and nothing on stderr" "" "$err"

run out6 "$U6" -o "$T_TMP/boot6.wbxml"
expect_eq "IPv6 literal [::1] (certificate IP:::1) exits 0" 0 "$rc"
check "... -o writes the bootstrap" cmp -s "$T_TMP/boot6.wbxml" "$T_TMP/expected.wbxml"
expect_eq "... and stdout stays empty" 0 "$(wc -c <"$T_TMP/out6.out")"

run xml "$U4" --xml
expect_eq "--xml exits 0" 0 "$rc"
check "... decodes to the XML scwsemu-card shows" cmp -s "$T_TMP/xml.out" "$T_TMP/expected.xml"
expect_match "... a SyncML bootstrap" '<MgmtTree' "$(cat "$T_TMP/xml.out")"

run get "$U4" --get
expect_eq "--get exits 0" 0 "$rc"
check "... same bootstrap" cmp -s "$T_TMP/get.out" "$T_TMP/expected.wbxml"

run luicc "https://localuicc:$P4$BOOT" --resolve "localuicc:$P4:127.0.0.1"
expect_eq "https://localuicc:PORT with --resolve exits 0" 0 "$rc"
check "... same bootstrap" cmp -s "$T_TMP/luicc.out" "$T_TMP/expected.wbxml"
run luicc6 "https://localuicc:443$BOOT" --resolve 'localuicc:443:[::1]' --connect-to "localuicc:443::$P6"
expect_eq "localuicc:443 over IPv6 via --resolve and --connect-to exits 0" 0 "$rc"
run lhost "https://localhost:$P4$BOOT" --resolve "localhost:$P4:127.0.0.1"
expect_eq "the name localhost verifies too" 0 "$rc"

run psk13 "$U4" --psk "$PSK" -v
expect_eq "PSK TLS 1.3 exits 0" 0 "$rc"
expect_match "... external PSK named in -v" 'TLSv1\.3 .*PSK identity "scwsemu"' "$err"
check "... same bootstrap" cmp -s "$T_TMP/psk13.out" "$T_TMP/expected.wbxml"
run psk12 "$U6" --psk "$PSK" --tls-max 1.2 -v
expect_eq "PSK TLS 1.2 over IPv6 exits 0" 0 "$rc"
expect_match "... a TLS 1.2 PSK suite" 'TLSv1\.2 [A-Z0-9-]*PSK[A-Z0-9-]*, PSK identity' "$err"

run verbose "$U4" -v --username dmuser --passphrase "$PASS" --push-address http://127.0.0.1:9/push
expect_eq "-v exits 0" 0 "$rc"
expect_match "-v shows the request line" "^> POST $BOOT HTTP/1.1" "$err"
expect_match "... the multipart Content-Type" '^> Content-Type: multipart/form-data; boundary=' "$err"
expect_match "... the fields" '^>   devid: IMEI:493005100592800' "$err"
expect_match "... the passphrase by its length only" '^>   passphrase: <11 bytes>$' "$err"
expect_match "... the response head" '^< HTTP/1.1 200 OK' "$err"
expect_match "... the response Content-Type" '^< Content-Type: application/vnd.syncml.dm\+wbxml' "$err"
if grep -q "$PASS\|$(printf %s "$PASS" | base64)" "$T_TMP/verbose.err"; then
	not_ok "-v never shows the passphrase, plain or base64"
else
	ok "-v never shows the passphrase, plain or base64"
fi
expect_match "the daemon saw the push-address field" 'push-address' "$(cat "$LOG_def")"

# ---- 1: transport and TLS failures, each naming the step
CLOSED4=$(free_port 127.0.0.1)
CLOSED6=$(free_port ::1)
run refused "https://127.0.0.1:$CLOSED4$BOOT"
expect_eq "nothing listening exits 1" 1 "$rc"
expect_match "... says connect refused" "connect to 127\.0\.0\.1 port $CLOSED4: Connection refused" "$err"

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
	-subj /CN=other-ca -keyout "$T_TMP/other.key" -out "$T_TMP/other-ca.crt" 2>/dev/null
run wrongca "$U4" --cacert "$T_TMP/other-ca.crt"
expect_eq "a CA that did not sign the server exits 1" 1 "$rc"
expect_match "... says the handshake failed and why" \
	'TLS handshake with 127\.0\.0\.1 port [0-9]+ failed: certificate verify failed: unable to get local issuer certificate' "$err"
run wrongname "https://wrongname:$P4$BOOT" --resolve "wrongname:$P4:127.0.0.1"
expect_eq "a name the certificate does not hold exits 1" 1 "$rc"
expect_match "... hostname mismatch" 'certificate verify failed: hostname mismatch' "$err"
run wrongkey13 "$U4" --psk scwsemu:00112233445566778899AABBCCDDEEF0
expect_eq "a wrong PSK key (TLS 1.3) exits 1" 1 "$rc"
expect_match "... with the OpenSSL reason" 'TLS handshake with .* failed: .*alert' "$err"
run wrongkey12 "$U4" --psk scwsemu:00112233445566778899AABBCCDDEEF0 --tls-max 1.2
expect_eq "a wrong PSK key (TLS 1.2) exits 1" 1 "$rc"
expect_match "... bad record mac" 'failed: .*bad record mac' "$err"
run wrongid "$U4" --psk nobody:00112233445566778899AABBCCDDEEFF --tls-max 1.2
expect_eq "an unknown PSK identity exits 1" 1 "$rc"
expect_match "... unknown psk identity" 'unknown psk identity' "$err"
run wrongid13 "$U4" --psk nobody:00112233445566778899AABBCCDDEEFF
expect_eq "an unknown PSK identity (TLS 1.3, server falls back to its certificate) exits 1" 1 "$rc"
expect_match "... says the PSK was not taken" 'did not take the PSK' "$err"

# A peer that accepts and then says nothing: the handshake times out.
python3 - "$T_TMP/mute.port" <<'PY' &
import socket, sys, time
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen(8)
open(sys.argv[1], "w").write(str(s.getsockname()[1]))
time.sleep(20)
PY
mute_pid=$!
T_PIDS="$T_PIDS $mute_pid"
for i in $(seq 100); do [ -s "$T_TMP/mute.port" ] && break; sleep 0.05; done
t0=$(date +%s%N)
run mute "https://127.0.0.1:$(cat "$T_TMP/mute.port")$BOOT" --timeout 0.5
t1=$(date +%s%N)
expect_eq "a silent server exits 1" 1 "$rc"
expect_match "... says the TLS handshake timed out" 'TLS handshake with 127\.0\.0\.1 port [0-9]+: timed out after 0\.5 s' "$err"
expect_eq "... after about --timeout" 1 $(( (t1 - t0) > 400000000 && (t1 - t0) < 3000000000 ))
stop_pid "$mute_pid"

# ---- --auto: 127.0.0.1:4116, [::1]:4116, localuicc:443, in that order.
# The fixed ports are moved with --connect-to (curl's option: the URL, the
# Host header and the certificate name stay those of the SCWS address).
run auto6 --auto --connect-to "127.0.0.1:4116:127.0.0.1:$CLOSED4" --connect-to "[::1]:4116::$P6"
expect_eq "--auto with 127.0.0.1:4116 closed exits 0" 0 "$rc"
expect_match "... tried 127.0.0.1:4116 first" "https://127\.0\.0\.1:4116$BOOT: connect to 127\.0\.0\.1 port $CLOSED4: Connection refused" "$err"
expect_match "... and says [::1]:4116 answered" "https://\[::1\]:4116$BOOT answered \(connected to ::1 port $P6\)" "$err"
check "... with the bootstrap" cmp -s "$T_TMP/auto6.out" "$T_TMP/expected.wbxml"

run autol --auto --connect-to ":4116::$CLOSED4" --connect-to ":443::$P4" \
	--resolve localuicc:443:127.0.0.1
expect_eq "--auto with both BIP addresses closed exits 0" 0 "$rc"
expect_match "... [::1]:4116 refused" "https://\[::1\]:4116$BOOT: connect to ::1 port $CLOSED4: Connection refused" "$err"
expect_match "... localuicc:443 answered" "https://localuicc:443$BOOT answered \(connected to 127\.0\.0\.1 port $P4\)" "$err"

if getent hosts localuicc >/dev/null 2>&1; then
	ok "# skip: localuicc is in /etc/hosts here"
else
	run autonone --auto --connect-to ":4116::$CLOSED4"
	expect_eq "--auto with nothing reachable exits 1" 1 "$rc"
	expect_match "... says localuicc does not resolve" 'localuicc does not resolve.*--resolve localuicc:443:ADDR' "$err"
	expect_match "... and that no SCWS answered" 'no SCWS answered' "$err"
fi

# ---- load: each request a new TLS connection
run load --concurrency 4 --requests 40 "$U4"
expect_eq "load: 40 requests over 4 workers exit 0" 0 "$rc"
out=$(cat "$T_TMP/load.out")
expect_match "... 40 ok" '^ok: 40, errors: 0$' "$out"
expect_match "... a rate" '[0-9.]+ requests/s' "$out"
expect_match "... percentiles" 'latency ms: p50 [0-9.]+, p90 [0-9.]+, p99 [0-9.]+, max [0-9.]+' "$out"
echo "# $(grep requests/s "$T_TMP/load.out")"
run loadj --concurrency 3 --requests 12 --psk "$PSK" --json "$U6"
expect_eq "load --json (PSK, IPv6) exits 0" 0 "$rc"
expect_eq "... JSON: 12 ok, no errors" "12 0 psk" "$(python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); print(j["ok"], len(j["errors"]), j["tls"])' "$T_TMP/loadj.out")"
peers=$(grep 'scws: request' "$LOG_def" | grep -o 'peer=[^ ]*' | sort -u | wc -l)
expect_eq "... every request came on a connection of its own" 1 $(( peers >= 52 ))
stop_pid "$PID_def"

run loaddown --concurrency 2 --requests 6 --json "$U4"
expect_eq "load against a stopped daemon exits 1" 1 "$rc"
expect_eq "... errors by kind: connect 6" '{"connect": 6}' \
	"$(python3 -c 'import json,sys; print(json.dumps(json.load(open(sys.argv[1]))["errors"]))' "$T_TMP/loaddown.out")"

# ---- 3: no bootstrap
start_scwsemu emp --card "$CARDS/empty" --no-bip --tcpip 127.0.0.1:0 || exit 1
P=$(ready_port "$READY_emp" tcpip 127.0.0.1)
run empty "https://127.0.0.1:$P$BOOT"
expect_eq "empty card: 404 exits 3" 3 "$rc"
expect_match "... with the server's reason" '404 Not Found: ' "$err"
expect_eq "... and nothing on stdout" 0 "$(wc -c <"$T_TMP/empty.out")"
run emptyo "https://127.0.0.1:$P$BOOT" -o "$T_TMP/none.wbxml"
check "... -o writes no file" test ! -e "$T_TMP/none.wbxml"
run loade --concurrency 2 --requests 10 "https://127.0.0.1:$P$BOOT"
expect_eq "load against the empty card exits 1" 1 "$rc"
expect_match "... errors by kind: http 404 10" 'errors by kind: http 404 10' "$(cat "$T_TMP/loade.out")"
stop_pid "$PID_emp"

# ---- 4: refused, and 0 with the right credentials
start_scwsemu auth --card "$CARDS/auth" --no-bip --tcpip 127.0.0.1:0 || exit 1
P=$(ready_port "$READY_auth" tcpip 127.0.0.1)
UA=https://127.0.0.1:$P$BOOT
run a1 "$UA"
expect_eq "auth card without credentials exits 4" 4 "$rc"
expect_match "... 403" '^scwsemu-fetch: 403 Forbidden' "$err"
run a2 "$UA" --username dmuser --passphrase wrong
expect_eq "auth card with a wrong passphrase exits 4" 4 "$rc"
run a3 "$UA" --username intruder --passphrase "$PASS"
expect_eq "auth card with a wrong username exits 4" 4 "$rc"
run a4 "$UA" --username dmuser
expect_eq "username without passphrase: 400 exits 4" 4 "$rc"
expect_match "... 400" '^scwsemu-fetch: 400 Bad Request: ' "$err"
run a5 "$UA" --devid nocolon
expect_eq "a malformed devid: 400 exits 4" 4 "$rc"
run a6 "$UA" --username dmuser --passphrase "$PASS"
expect_eq "auth card with the right credentials exits 0" 0 "$rc"
run a7 "$UA" --username dmuser --passphrase "$PASS" --psk "$PSK"
expect_eq "... over PSK too" 0 "$rc"
stop_pid "$PID_auth"

# ---- legacy: an old handset's TLS 1.0 with PSK-AES128-CBC-SHA
start_scwsemu leg --card "$CARDS/legacy" --no-bip --tcpip 127.0.0.1:0 || exit 1
P=$(ready_port "$READY_leg" tcpip 127.0.0.1)
run leg "https://127.0.0.1:$P$BOOT" --psk "$PSK" --tls-min 1.0 --tls-max 1.0 -v
expect_eq "legacy card over TLS 1.0 PSK exits 0" 0 "$rc"
expect_match "... TLSv1 PSK-AES128-CBC-SHA" '\* TLSv1 PSK-AES128-CBC-SHA, PSK identity' "$err"
run leg13 "https://127.0.0.1:$P$BOOT" --psk "$PSK" --tls-min 1.3
expect_eq "legacy card refuses TLS 1.3 only: exits 1" 1 "$rc"
expect_match "... a TLS handshake failure" 'TLS handshake with .* failed: ' "$err"
stop_pid "$PID_leg"

# ---- 2: usage
for args in "--bogus" "ftp://x/" "--psk nokey" "--psk id:zz" "--resolve nohost" \
	"--auto $U4" "--timeout 0" "--concurrency 0" "--json" "--cacert x --psk $PSK" \
	"--tls-min 1.3 --tls-max 1.2" "--connect-to a:b:c:d"; do
	# shellcheck disable=SC2086
	run usage $args
	expect_eq "usage error exits 2: $args" 2 "$rc"
done
run help --help
expect_eq "--help exits 0" 0 "$rc"
expect_match "... and lists --auto" '--auto' "$(cat "$T_TMP/help.out")"

finish
