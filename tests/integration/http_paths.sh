#!/bin/bash
# http_paths.sh - the SCWS's request paths end to end with curl: unreserved
# characters percent-decoded before routing (/OMA/DM/Bootstrap%2Exml is the
# bootstrap), %2F, %00 and '..' refused with 400 and the reason; the index
# page at / lists the URLs really served, ports after --port-map, over TCP/IP
# and BIP.
. "$(dirname "$0")/lib.sh"
need curl python3

"$SCWSEMU_CARD" bootstrap "$CARDS/default" >"$T_TMP/expected.wbxml"
start_scwsemu d --card "$CARDS/default" --tcpip 127.0.0.1:0 --bip-listen 127.0.0.1 \
	--port-map 4116=0 --port-map 3516=0 || exit 1
PT=$(ready_port "$READY_d" tcpip 127.0.0.1)
PB=$(ready_port "$READY_d" bip 127.0.0.1 4116)
PH=$(ready_port "$READY_d" bip 127.0.0.1 3516)

fetch() { # URL-PATH PORT: status, then the body in $T_TMP/body
	curl -sS --cacert "$CA" --path-as-is -o "$T_TMP/body" -w '%{http_code}' \
		"https://127.0.0.1:$2$1"
}
for p in "$PT" "$PB"; do
	expect_eq "port $p: /OMA/DM/Bootstrap%2Exml is the bootstrap" 200 "$(fetch /OMA/DM/Bootstrap%2Exml "$p")"
	check "port $p: ... the same bytes" cmp -s "$T_TMP/body" "$T_TMP/expected.wbxml"
	expect_eq "port $p: /%4FMA/DM/Bootstrap.xml too" 200 "$(fetch /%4FMA/DM/Bootstrap.xml "$p")"
	expect_eq "port $p: %2F is 400" 400 "$(fetch /OMA%2FDM/Bootstrap.xml "$p")"
	expect_eq "port $p: ... saying why" "an encoded '/' (%2F) in the path: /OMA%2FDM/Bootstrap.xml" \
		"$(cat "$T_TMP/body")"
	expect_eq "port $p: %00 is 400" 400 "$(fetch /OMA/DM/Bootstrap.xml%00 "$p")"
	expect_match "port $p: ... saying why" 'an encoded NUL \(%00\)' "$(cat "$T_TMP/body")"
	expect_eq "port $p: .. is 400" 400 "$(fetch /OMA/../OMA/DM/Bootstrap.xml "$p")"
	expect_match "port $p: ... saying why" "a '\.\.' segment in the path" "$(cat "$T_TMP/body")"
	expect_eq "port $p: %2E%2E is 400" 400 "$(fetch /OMA/%2E%2E/OMA/DM/Bootstrap.xml "$p")"
	expect_eq "port $p: the index page" 200 "$(fetch / "$p")"
	idx=$(cat "$T_TMP/body")
	expect_match "port $p: the index lists the TCP/IP URL" \
		"<a href=\"https://127\.0\.0\.1:$PT/OMA/DM/Bootstrap\.xml\">" "$idx"
	expect_match "port $p: the index lists the BIP HTTPS URL (after --port-map)" \
		"https://127\.0\.0\.1:$PB/OMA/DM/Bootstrap\.xml" "$idx"
	expect_match "port $p: the index lists the BIP HTTP URL" \
		"http://127\.0\.0\.1:$PH/OMA/DM/Bootstrap\.xml" "$idx"
	check "port $p: no fixed 4116 URL" sh -c "! grep -q '127.0.0.1:4116' '$T_TMP/body'"
done
finish
