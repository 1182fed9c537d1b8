#!/bin/bash
# tls_resume.sh - TLS as real cards and clients do it, end to end with openssl
# s_client: session resumption over TCP/IP and over BIP (-reconnect: TLS 1.2
# session IDs and tickets, TLS 1.3 tickets through -sess_out/-sess_in), off with
# tls.resumption = false; the RSA certificate beside the ECDSA one (a TLS 1.2
# client offering only AES128-SHA or ECDHE-RSA-AES128-GCM-SHA256 fetches the
# bootstrap, an ECDSA client still gets ECDSA).
. "$(dirname "$0")/lib.sh"
need openssl python3

start_scwsemu tcp --card "$CARDS/default" --no-bip --tcpip 127.0.0.1:0 || exit 1
PT=$(ready_port "$READY_tcp" tcpip 127.0.0.1)
start_scwsemu bip --card "$CARDS/default" --no-tcpip --bip-listen 127.0.0.1 \
	--port-map 4116=0 --port-map 3516=0 || exit 1
PB=$(ready_port "$READY_bip" bip 127.0.0.1 4116)

# reconnect NAME PORT [s_client options]: 1 full handshake then 5 resumed ones.
reconnect() {
	local name=$1 port=$2
	shift 2
	timeout 30 openssl s_client -connect "127.0.0.1:$port" -CAfile "$CA" \
		-verify_hostname localuicc -verify_return_error -reconnect "$@" \
		</dev/null >"$T_TMP/$name.out" 2>&1
	grep -c '^Reused,' "$T_TMP/$name.out"
}

for where in "TCP/IP:$PT" "BIP:$PB"; do
	name=${where%%:*} port=${where#*:}
	expect_eq "$name: TLS 1.2 -reconnect with session IDs: 5 of 6 Reused" 5 \
		"$(reconnect "${name%/*}12id" "$port" -tls1_2 -no_ticket)"
	expect_eq "$name: TLS 1.2 -reconnect with tickets: 5 of 6 Reused" 5 \
		"$(reconnect "${name%/*}12t" "$port" -tls1_2)"
	# TLS 1.3: s_client 3.0 reconnects before the server's tickets arrive,
	# against openssl s_server too (0 Reused there as well); -sess_out /
	# -sess_in below shows TLS 1.3 resumption.
done

# TLS 1.3 resumption across two processes: -sess_out, then -sess_in.
get() { # PORT [s_client options]: one GET of the bootstrap
	local port=$1
	shift
	printf 'GET /OMA/DM/Bootstrap.xml HTTP/1.1\r\nHost: localuicc\r\nConnection: close\r\n\r\n' |
		timeout 10 openssl s_client -connect "127.0.0.1:$port" -CAfile "$CA" \
			-verify_hostname localuicc -verify_return_error -ign_eof "$@" 2>&1 | tr -d '\0'
}
rm -f "$T_TMP/sess.pem"
out=$(get "$PT" -tls1_3 -sess_out "$T_TMP/sess.pem")
expect_match "TLS 1.3 first connection: New, 200" 'New, TLSv1\.3.*HTTP/1\.1 200' "$(echo "$out" | tr '\n' ' ')"
check "-sess_out saved a session with a ticket" sh -c "openssl sess_id -in '$T_TMP/sess.pem' -noout -text | grep -q 'TLS session ticket:'"
out=$(get "$PT" -tls1_3 -sess_in "$T_TMP/sess.pem")
expect_match "TLS 1.3 -sess_in: Reused, 200" 'Reused, TLSv1\.3.*HTTP/1\.1 200' "$(echo "$out" | tr '\n' ' ')"
rm -f "$T_TMP/sess.pem"
get "$PB" -tls1_3 -sess_out "$T_TMP/sess.pem" >/dev/null
out=$(get "$PB" -tls1_3 -sess_in "$T_TMP/sess.pem")
expect_match "BIP: TLS 1.3 -sess_in: Reused, 200" 'Reused, TLSv1\.3.*HTTP/1\.1 200' "$(echo "$out" | tr '\n' ' ')"
# A TLS 1.2 session saved and offered again from another process.
rm -f "$T_TMP/sess12.pem"
get "$PT" -tls1_2 -no_ticket -sess_out "$T_TMP/sess12.pem" >/dev/null
out=$(get "$PT" -tls1_2 -no_ticket -sess_in "$T_TMP/sess12.pem")
expect_match "TLS 1.2 session ID across processes: Reused, 200" 'Reused, TLSv1\.2.*HTTP/1\.1 200' \
	"$(echo "$out" | tr '\n' ' ')"

# RSA beside ECDSA, from one context.
out=$(get "$PT" -tls1_2 -cipher AES128-SHA)
expect_match "TLS 1.2 AES128-SHA only: served, 200" 'Cipher is AES128-SHA.*HTTP/1\.1 200' "$(echo "$out" | tr '\n' ' ')"
expect_match "... with the RSA 2048 certificate" 'Server public key is 2048 bit' "$out"
out=$(get "$PT" -tls1_2 -cipher ECDHE-RSA-AES128-GCM-SHA256)
expect_match "TLS 1.2 ECDHE-RSA-AES128-GCM-SHA256 only: served, 200" \
	'Cipher is ECDHE-RSA-AES128-GCM-SHA256.*HTTP/1\.1 200' "$(echo "$out" | tr '\n' ' ')"
out=$(get "$PT" -tls1_2 -cipher ECDHE-ECDSA-AES128-GCM-SHA256)
expect_match "TLS 1.2 ECDSA client: the P-256 certificate" 'Server public key is 256 bit' "$out"
out=$(get "$PT" -tls1_3 -sigalgs rsa_pss_rsae_sha256)
expect_match "TLS 1.3 with RSA-PSS signatures only: the RSA certificate, 200" \
	'Server public key is 2048 bit.*HTTP/1\.1 200' "$(echo "$out" | tr '\n' ' ')"
out=$(get "$PB" -tls1_2 -cipher AES128-SHA)
expect_match "BIP: TLS 1.2 AES128-SHA: 200" 'HTTP/1\.1 200' "$out"

# tls.resumption = false: every connection a full handshake.
mkdir -p "$T_TMP/full"
sed -e "s|\.\./\.\./pki|$top_srcdir/pki|" \
	-e "s|\"index.html\"|\"$CARDS/default/index.html\"|" \
	-e "s|\"bootstrap.xml\"|\"$CARDS/default/bootstrap.xml\"|" \
	-e 's|resumption = true;|resumption = false;|' \
	"$CARDS/default/card.conf" >"$T_TMP/full/card.conf"
check "the copy turns resumption off" grep -q 'resumption = false;' "$T_TMP/full/card.conf"
start_scwsemu full --card "$T_TMP/full" --no-bip --tcpip 127.0.0.1:0 || exit 1
PF=$(ready_port "$READY_full" tcpip 127.0.0.1)
expect_eq "resumption off, TLS 1.2: 0 of 6 Reused" 0 "$(reconnect off12 "$PF" -tls1_2)"
expect_eq "resumption off, TLS 1.2: 6 New" 6 "$(grep -c '^New,' "$T_TMP/off12.out")"
rm -f "$T_TMP/sess.pem"
get "$PF" -tls1_3 -sess_out "$T_TMP/sess.pem" >/dev/null
has_ticket() { [ -s "$1" ] && openssl sess_id -in "$1" -noout -text 2>/dev/null | grep -q 'TLS session ticket:'; }
expect_eq "resumption off, TLS 1.3: no ticket for -sess_out" no \
	"$(has_ticket "$T_TMP/sess.pem" && echo yes || echo no)"

# scwsemu-fetch --resume: each load-generator worker resumes the session of
# its previous fetch (2 workers: their first fetches are full handshakes).
for v in 1.2 1.3; do
	out=$("$SCWSEMU_FETCH" "https://127.0.0.1:$PT$BOOT" --cacert "$CA" --concurrency 2 \
		--requests 10 --resume --tls-max "$v" --json)
	expect_match "scwsemu-fetch --resume, TLS $v: 10 fetched, 8 resumed" \
		'"ok": 10,.*"resumed": 8,' "$out"
done
out=$("$SCWSEMU_FETCH" "https://127.0.0.1:$PF$BOOT" --cacert "$CA" --concurrency 2 \
	--requests 10 --resume --json)
expect_match "... against tls.resumption = false: 10 fetched, none resumed" \
	'"ok": 10,.*"resumed": 0,' "$out"
out=$("$SCWSEMU_FETCH" "https://127.0.0.1:$PT$BOOT" --cacert "$CA" --concurrency 2 \
	--requests 10 --json)
expect_match "... and without --resume: none resumed" '"ok": 10,.*"resumed": 0,' "$out"
finish
