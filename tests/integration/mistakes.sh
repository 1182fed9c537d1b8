#!/bin/bash
# mistakes.sh - clear answers to the usual first-run mistakes: plain HTTP to
# a TLS port (a plain-text 400 naming the https:// URL, then a close), TLS
# to the plain port (closed at once, logged), TLS failures logged in words
# (wrong PSK key, no PSK to a PSK-only card, no common cipher, a refused
# protocol version), and scwsemu-card new validating before it writes.
. "$(dirname "$0")/lib.sh"
need curl openssl python3

PSK_ID=scwsemu
PSK_KEY=00112233445566778899AABBCCDDEEFF
WRONG_KEY=00112233445566778899AABBCCDDEE00

# wait_log LOG REGEX: up to 5 s for a line.
wait_log() {
	for _ in $(seq 100); do grep -Eq -- "$2" "$1" && return 0; sleep 0.05; done
	return 1
}

start_scwsemu def --card "$CARDS/default" --tcpip 127.0.0.1:0 --port-map 4116=0 \
	--port-map 3516=0 || exit 1
T=$(ready_port "$READY_def" tcpip 127.0.0.1)
B=$(ready_port "$READY_def" bip 127.0.0.1 4116)
H=$(ready_port "$READY_def" bip 127.0.0.1 3516)

# ---- plain HTTP to a TLS port ----------------------------------------------------
for where in "tcpip $T" "bip $B"; do
	set -- $where
	out=$(curl -sS --max-time 5 -D "$T_TMP/h" "http://127.0.0.1:$2/OMA/DM/Bootstrap.xml" 2>&1)
	st=$(head -1 "$T_TMP/h" | tr -d '\r')
	expect_eq "$1: plain HTTP to the HTTPS port gets HTTP/1.1 400" "HTTP/1.1 400 Bad Request" "$st"
	expect_match "$1: ... a text body saying the port speaks HTTPS, with the URL" \
		"this port speaks HTTPS \(TLS\), and a plain HTTP request came\..*Use https://127\.0\.0\.1:$2/OMA/DM/Bootstrap\.xml" \
		"$(printf '%s' "$out" | tr '\n' ' ')"
	expect_match "$1: ... text/plain, Connection: close" 'Connection: close' "$(tr -d '\r' <"$T_TMP/h")"
	check "$1: ... logged" wait_log "$LOG_def" \
		"plain HTTP on an HTTPS port.*transport=\"?$1.*https://127\.0\.0\.1:$2/OMA/DM/Bootstrap\.xml"
done

# ---- TLS to the plain port: recognised at once, logged, closed -------------------
t0=$(date +%s%N)
out=$(timeout 8 openssl s_client -connect "127.0.0.1:$H" </dev/null 2>&1)
t1=$(date +%s%N)
expect_eq "TLS to the plain-HTTP port is closed within a second (not after the idle timeout)" 1 \
	$(( (t1 - t0) < 1000000000 ))
expect_match "... the client sees no TLS answer" 'no peer certificate|errno|unexpected eof|write:errno|Connection reset|handshake' "$out"
check "... logged as TLS on a plain-HTTP port" wait_log "$LOG_def" \
	'TLS on a plain-HTTP port.*a TLS ClientHello came to a port that speaks plain HTTP'
st=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$H/")
expect_eq "... and plain HTTP there still works (the index page)" 200 "$st"

# ---- TLS failures in words --------------------------------------------------------
s_client() { # PORT [args]: a handshake that is expected to fail
	local port=$1
	shift
	timeout 8 openssl s_client -connect "127.0.0.1:$port" "$@" </dev/null >/dev/null 2>&1
}
s_client "$T" -tls1_2 -psk_identity "$PSK_ID" -psk "$WRONG_KEY" -cipher PSK-AES128-GCM-SHA256
check "TLS 1.2: wrong PSK key for identity scwsemu" wait_log "$LOG_def" \
	"TLS handshake failed.*wrong PSK key for identity 'scwsemu': the client's key is not the card's"
s_client "$T" -tls1_2 -psk_identity nobody -psk "$PSK_KEY" -cipher PSK-AES128-GCM-SHA256
check "TLS 1.2: an identity the card does not know, named" wait_log "$LOG_def" \
	"the client's PSK identity 'nobody' is not the card's \('scwsemu'\)"
s_client "$T" -tls1_2 -cipher AES128-SHA256
check "no cipher in common: both sides listed" wait_log "$LOG_def" \
	'no cipher in common: the client offers AES128-SHA256; the card accepts [A-Z0-9_-]+:'
s_client "$T" -tls1_1 -cipher 'DEFAULT:@SECLEVEL=0'
check "a refused protocol version, both sides named" wait_log "$LOG_def" \
	'protocol version refused: the client offers TLS 1\.1, the card accepts TLS 1\.2 to TLS 1\.3'
stop_pid "$PID_def"

start_scwsemu psk --card "$CARDS/psk-only" --no-bip --tcpip 127.0.0.1:0 || exit 1
P=$(ready_port "$READY_psk" tcpip 127.0.0.1)
s_client "$P" -tls1_3 -psk_identity "$PSK_ID" -psk "$WRONG_KEY"
check "TLS 1.3: wrong PSK key for identity scwsemu" wait_log "$LOG_psk" \
	"wrong PSK key for identity 'scwsemu'"
curl -s --max-time 5 --cacert "$CA" "https://127.0.0.1:$P/OMA/DM/Bootstrap.xml" -o /dev/null
check "no PSK offered to a PSK-only card" wait_log "$LOG_psk" \
	"the client offered no PSK, and this card has only PSK \(no certificate\): give the client the card's identity 'scwsemu' and key"
check "... and the key itself is never logged" test "$(grep -c "$PSK_KEY\|$WRONG_KEY" "$LOG_psk")" = 0
stop_pid "$PID_psk"

# ---- scwsemu-card new: validated before writing, nothing left on failure ----------
C=$SCWSEMU_CARD
cd "$T_TMP" || exit 1
nothing_left() { [ -z "$(ls -A "$T_TMP/cards")" ]; }
mkdir cards
"$C" new cards/a --bootstrap "$CARDS/default/bootstrap.xml" --psk me:0011XYZ 2>"$T_TMP/e"
expect_eq "new: a PSK key that is not hex exits 2" 2 $?
expect_match "... saying so" "the key '0011XYZ' must be 1\.\.64 bytes of hex" "$(cat "$T_TMP/e")"
"$C" new cards/a --bootstrap "$CARDS/default/bootstrap.xml" --psk me:001 2>"$T_TMP/e"
expect_eq "new: an odd number of hex digits exits 2" 2 $?
printf '<?xml version="1.0"?>\n<html><body/></html>\n' >"$T_TMP/html.xml"
"$C" new cards/a --bootstrap "$T_TMP/html.xml" 2>"$T_TMP/e"
expect_eq "new: XML that is not a DM bootstrap exits 2" 2 $?
expect_match "... saying the root must be SyncML" 'not a DM bootstrap: the root element must be <SyncML>' "$(cat "$T_TMP/e")"
"$C" new 'cards/bad name' --no-bootstrap 2>"$T_TMP/e"
expect_eq "new: a card name with a space exits 2" 2 $?
"$C" new cards/.hidden --no-bootstrap 2>"$T_TMP/e"
expect_eq "new: a card name starting with a dot exits 2" 2 $?
"$C" new cards/a --no-bootstrap --pki "$T_TMP/nopki" 2>"$T_TMP/e"
expect_eq "new: --pki without the certificate exits 2" 2 $?
check "... and none of these left anything behind (no temporary directory either)" nothing_left

out=$("$C" new cards/mine --bootstrap "$CARDS/default/bootstrap.xml" --psk me:00112233445566778899aabbccddeeff)
expect_eq "new: exits 0" 0 $?
check "... copies the test certificate, key and CA into the card" \
	test -s cards/mine/scws-server.crt -a -s cards/mine/scws-server.key -a -s cards/mine/scws-ca.crt
expect_match "... with relative paths" '^  certificate = "\./scws-server\.crt";' "$(cat cards/mine/card.conf)"
check "... nothing else beside it" test "$(ls -A cards)" = mine
mv cards/mine "$T_TMP/moved"
"$C" check "$T_TMP/moved" >/dev/null
expect_eq "... the profile is portable: it checks after a move" 0 $?
start_scwsemu moved --card "$T_TMP/moved" --no-bip --tcpip 127.0.0.1:0 || exit 1
P=$(ready_port "$READY_moved" tcpip 127.0.0.1)
expect_eq "... the ready file names the card's own CA" "$T_TMP/moved/scws-ca.crt" \
	"$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["ca"])' "$READY_moved")"
st=$(curl -s -o /dev/null -w '%{http_code}' --cacert "$T_TMP/moved/scws-ca.crt" \
	-F devid=IMEI:1 "https://127.0.0.1:$P/OMA/DM/Bootstrap.xml")
expect_eq "... and serves with it" 200 "$st"
stop_pid "$PID_moved"

mkdir "$T_TMP/mypki"
cp "$top_srcdir/pki/scws-server.crt" "$top_srcdir/pki/scws-server.key" "$T_TMP/mypki/"
"$C" new cards/shared --no-bootstrap --pki "$T_TMP/mypki" >/dev/null
expect_eq "new --pki DIR: exits 0" 0 $?
expect_match "... names the certificate there by a relative path" \
	'^  certificate = "\.\./\.\./mypki/scws-server\.crt";' "$(cat cards/shared/card.conf)"
check "... and copies nothing" test ! -e cards/shared/scws-server.key
"$C" check cards/shared >/dev/null
expect_eq "... and checks" 0 $?

finish
