#!/bin/bash
# tcpip.sh - scwsemu over TCP/IP (localuicc:443 mode) end to end: the real
# daemon on ephemeral loopback ports, curl for every row of the endpoint
# table over IPv4 and IPv6, openssl s_client and gnutls-cli for PSK and
# legacy TLS, signals, start-up errors, and limits.
. "$(dirname "$0")/lib.sh"
need curl openssl gnutls-cli python3

PSK_ID=scwsemu
PSK_KEY=00112233445566778899AABBCCDDEEFF

"$SCWSEMU_CARD" bootstrap "$CARDS/default" >"$T_TMP/expected.wbxml"
"$SCWSEMU_CARD" bootstrap "$CARDS/default" --xml >"$T_TMP/expected.xml"

start_scwsemu def --card "$CARDS/default" --no-bip --tcpip 127.0.0.1:0 --tcpip '[::1]:0' || exit 1
P4=$(ready_port "$READY_def" tcpip 127.0.0.1)
P6=$(ready_port "$READY_def" tcpip ::1)
expect_match "ready file lists the IPv4 endpoint" '^[0-9]+$' "$P4"
expect_match "ready file lists the IPv6 endpoint" '^[0-9]+$' "$P6"
ready=$(cat "$READY_def")
expect_match "ready file: pid" "\"pid\": $PID_def" "$ready"
expect_match "ready file: tcpip endpoint with card port 443" \
	"\"transport\": \"tcpip\", \"scheme\": \"https\", \"host\": \"127.0.0.1\", \"port\": $P4, \"card_port\": 443, \"url\": \"https://127.0.0.1:$P4/OMA/DM/Bootstrap.xml\"" "$ready"

. "$(dirname "$0")/endpoints.sh"
endpoint_table "tcpip IPv4:" "$P4" 127.0.0.1
endpoint_table "tcpip IPv6:" "$P6" '[::1]'

# IPv6 by literal address: the certificate holds IP:::1.
st=$(curl -sS --cacert "$CA" -o /dev/null -w '%{http_code}' "https://[::1]:$P6$BOOT")
expect_eq "https://[::1]:PORT verifies against IP:::1" 200 "$st"
st=$(curl -sS --cacert "$CA" -o /dev/null -w '%{http_code}' "https://127.0.0.1:$P4$BOOT")
expect_eq "https://127.0.0.1:PORT verifies against IP:127.0.0.1" 200 "$st"

# PSK on the default card (certificate and PSK at once): openssl s_client.
psk_get() { # VERSIONFLAG PORT HOST [extra...]
	local v=$1 port=$2 host=$3
	shift 3
	printf 'GET %s HTTP/1.1\r\nHost: localuicc\r\nConnection: close\r\n\r\n' "$BOOT" |
		timeout 10 openssl s_client -quiet -ign_eof -connect "$host:$port" \
			-psk_identity "$PSK_ID" -psk "$PSK_KEY" $v "$@" 2>/dev/null | head -c 200
}
expect_match "s_client TLS 1.2 PSK on default" '^HTTP/1.1 200' \
	"$(psk_get -tls1_2 $P4 127.0.0.1 -cipher PSK-AES128-GCM-SHA256)"
expect_match "s_client TLS 1.3 external PSK on default" '^HTTP/1.1 200' \
	"$(psk_get -tls1_3 $P4 127.0.0.1)"
stop_pid "$PID_def"

# psk-only: openssl s_client and gnutls-cli with PSK, no certificate at all.
start_scwsemu psk --card "$CARDS/psk-only" --no-bip --tcpip 127.0.0.1:0 || exit 1
P=$(ready_port "$READY_psk" tcpip 127.0.0.1)
expect_match "psk-only: s_client TLS 1.2 PSK-AES128-CBC-SHA" '^HTTP/1.1 200' \
	"$(psk_get -tls1_2 $P 127.0.0.1 -cipher PSK-AES128-CBC-SHA)"
expect_match "psk-only: s_client TLS 1.3 PSK" '^HTTP/1.1 200' "$(psk_get -tls1_3 $P 127.0.0.1)"
out=$(printf 'GET %s HTTP/1.1\r\nHost: localuicc\r\nConnection: close\r\n\r\n' "$BOOT" |
	timeout 10 gnutls-cli --insecure --pskusername "$PSK_ID" --pskkey "$PSK_KEY" \
		--priority 'NORMAL:-VERS-ALL:+VERS-TLS1.2:+PSK:-KX-ALL:+PSK' -p "$P" 127.0.0.1 2>&1 | tr -d '\0')
expect_match "psk-only: gnutls-cli --pskusername gets 200" 'HTTP/1.1 200' "$out"
out=$(printf 'GET %s HTTP/1.1\r\nHost: localuicc\r\n\r\n' "$BOOT" |
	timeout 10 openssl s_client -quiet -connect 127.0.0.1:$P -psk_identity "$PSK_ID" \
		-psk 0000000000000000000000000000000 -tls1_2 2>&1)
expect_match "psk-only: a wrong key fails the handshake" 'alert|error' "$out"
st=$(curl -sS --cacert "$CA" -o /dev/null -w '%{http_code}' "https://127.0.0.1:$P$BOOT" 2>/dev/null)
expect_eq "psk-only: a certificate client gets no answer" 000 "$st"
stop_pid "$PID_psk"

# legacy: TLS 1.0 with PSK-AES128-CBC-SHA.
start_scwsemu leg --card "$CARDS/legacy" --no-bip --tcpip 127.0.0.1:0 || exit 1
P=$(ready_port "$READY_leg" tcpip 127.0.0.1)
expect_match "legacy: TLS 1.0 PSK-AES128-CBC-SHA gets 200" '^HTTP/1.1 200' \
	"$(psk_get -tls1 $P 127.0.0.1 -cipher 'PSK-AES128-CBC-SHA@SECLEVEL=0')"
stop_pid "$PID_leg"

# auth: credentials required.
start_scwsemu auth --card "$CARDS/auth" --no-bip --tcpip 127.0.0.1:0 || exit 1
P=$(ready_port "$READY_auth" tcpip 127.0.0.1)
U=https://localuicc:$P$BOOT
pass64=$(printf 's3cret-pass' | base64)
req a1 $P 127.0.0.1 -F devid=IMEI:1 "$U"
expect_eq "auth: no credentials 403" 403 "$st"
req a2 $P 127.0.0.1 -F devid=IMEI:1 -F username=dmuser -F "passphrase=$(printf wrong | base64)" "$U"
expect_eq "auth: wrong passphrase 403" 403 "$st"
req a3 $P 127.0.0.1 -F devid=IMEI:1 -F username=dmuser -F "passphrase=$pass64" "$U"
expect_eq "auth: right credentials 200" 200 "$st"
req a4 $P 127.0.0.1 "$U"
expect_eq "auth: GET 403" 403 "$st"
log=$(cat "$LOG_auth")
expect_match "auth: one log line per request with devid and fields" \
	'devid=IMEI:1.*(username|passphrase).*status=200' "$log"
if grep -q 's3cret-pass\|czNjcmV0LXBhc3M' "$LOG_auth"; then not_ok "auth: the passphrase never appears in the log"; else ok "auth: the passphrase never appears in the log"; fi
stop_pid "$PID_auth"

# empty: 404; xml: XML content type (and conversion to WBXML on request).
start_scwsemu emp --card "$CARDS/empty" --no-bip --tcpip 127.0.0.1:0 || exit 1
P=$(ready_port "$READY_emp" tcpip 127.0.0.1)
req e1 $P 127.0.0.1 -F devid=IMEI:1 "https://localuicc:$P$BOOT"
expect_eq "empty: POST 404" 404 "$st"
stop_pid "$PID_emp"
start_scwsemu xml --card "$CARDS/xml" --no-bip --tcpip 127.0.0.1:0 || exit 1
P=$(ready_port "$READY_xml" tcpip 127.0.0.1)
req x1 $P 127.0.0.1 "https://localuicc:$P$BOOT"
expect_eq "xml: GET 200" 200 "$st"
expect_match "xml: Content-Type XML" "^[Cc]ontent-[Tt]ype: $XMLT" "$hdrs"
req x2 $P 127.0.0.1 -H "Accept: application/vnd.syncml.dm+wbxml" "https://localuicc:$P$BOOT"
expect_match "xml: Accept WBXML converts" "^[Cc]ontent-[Tt]ype: $WBXML" "$hdrs"
stop_pid "$PID_xml"

# A devid allow-list, and SIGHUP reload of a changed profile.
mkdir -p "$T_TMP/allow"
sed "s|\.\./\.\./pki|$top_srcdir/pki|; s|\"index.html\"|\"$CARDS/default/index.html\"|; s|\"bootstrap.xml\"|\"$CARDS/default/bootstrap.xml\"|" \
	"$CARDS/default/card.conf" >"$T_TMP/allow/card.conf"
echo 'devid_allow = [ "IMEI:111" ];' >>"$T_TMP/allow/card.conf"
start_scwsemu allow --card "$T_TMP/allow" --no-bip --tcpip 127.0.0.1:0 || exit 1
P=$(ready_port "$READY_allow" tcpip 127.0.0.1)
U=https://localuicc:$P$BOOT
req l1 $P 127.0.0.1 -F devid=IMEI:111 "$U"
expect_eq "allow-list: listed devid 200" 200 "$st"
req l2 $P 127.0.0.1 -F devid=IMEI:222 "$U"
expect_eq "allow-list: other devid 404" 404 "$st"
sed -i 's|"IMEI:111"|"IMEI:222"|' "$T_TMP/allow/card.conf"
n0=$(grep -cE 'reloaded card|reload failed' "$LOG_allow")
kill -HUP "$PID_allow"
wait_for 10 log_grown "$LOG_allow" 'reloaded card|reload failed' "$n0"
req l3 $P 127.0.0.1 -F devid=IMEI:222 "$U"
expect_eq "SIGHUP: the reloaded allow-list applies at once" 200 "$st"
echo 'this is not = libconfig' >>"$T_TMP/allow/card.conf"
n0=$(grep -cE 'reloaded card|reload failed' "$LOG_allow")
kill -HUP "$PID_allow"
wait_for 10 log_grown "$LOG_allow" 'reloaded card|reload failed' "$n0"
req l4 $P 127.0.0.1 -F devid=IMEI:222 "$U"
expect_eq "SIGHUP with a broken profile keeps serving the previous card" 200 "$st"
expect_match "... and the log names file and line" 'card\.conf:[0-9]+' "$(cat "$LOG_allow")"

# A silent client is dropped after the idle timeout and stalls nobody.
stop_pid "$PID_allow"
start_scwsemu idle --card "$CARDS/default" --no-bip --tcpip 127.0.0.1:0 --idle-timeout 0.5 || exit 1
P=$(ready_port "$READY_idle" tcpip 127.0.0.1)
python3 - "$P" >"$T_TMP/idle.out" 2>&1 <<'PY' &
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
t = time.time()
s.settimeout(5)
data = s.recv(10)  # the server closes: b""
print("closed after %.1f s" % (time.time() - t), repr(data))
PY
idle_pid=$!
st=$(curl -sS --max-time 5 --cacert "$CA" -o /dev/null -w '%{http_code}' "https://127.0.0.1:$P$BOOT")
expect_eq "a silent client does not stall another" 200 "$st"
wait $idle_pid
expect_match "the silent client is closed after the idle timeout" "closed after (0\.[4-9]|1\.[0-5]) s b''" "$(cat "$T_TMP/idle.out")"

# SIGTERM: exit 0 within a second; the ready file is removed.
t0=$(date +%s%N)
kill -TERM "$PID_idle"
wait "$PID_idle"
rc=$?
t1=$(date +%s%N)
expect_eq "SIGTERM exits 0" 0 "$rc"
expect_eq "SIGTERM exits within a second" 1 $(( (t1 - t0) < 1000000000 ))

# Start-up errors: bad profile (2, file:line), an explicit address in use (1).
mkdir -p "$T_TMP/bad"
printf 'name = "bad";\niccid = "8988200000000000006";\nscws = { ports = ( { port = 99999; } ); };\n' >"$T_TMP/bad/card.conf"
"$SCWSEMU" --card "$T_TMP/bad" --no-bip --tcpip 127.0.0.1:0 2>"$T_TMP/bad.err"
expect_eq "a bad profile exits 2" 2 $?
expect_match "... naming file and line" "$T_TMP/bad/card.conf:3: " "$(cat "$T_TMP/bad.err")"
"$SCWSEMU" --bogus 2>/dev/null
expect_eq "bad usage exits 2" 2 $?
start_scwsemu hold --card "$CARDS/default" --no-bip --tcpip 127.0.0.1:0 || exit 1
P=$(ready_port "$READY_hold" tcpip 127.0.0.1)
"$SCWSEMU" --card "$CARDS/default" --no-bip --tcpip "127.0.0.1:$P" 2>"$T_TMP/inuse.err"
expect_eq "an explicit address in use exits 1" 1 $?
expect_match "... saying which" "127\.0\.0\.1:$P: Address already in use" "$(cat "$T_TMP/inuse.err")"
stop_pid "$PID_hold"

finish
