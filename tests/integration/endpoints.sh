# endpoints.sh - every row of the endpoint table (doc/design.md §5) against one
# listening SCWS, with curl. Sourced by tcpip.sh and bip.sh after lib.sh.

WBXML='application/vnd\.syncml\.dm\+wbxml'
XMLT='application/vnd\.syncml\.dm\+xml'

# req NAME URL-BASE RESOLVE [curl args...]: status in $st, headers in
# $T_TMP/NAME.h, body in $T_TMP/NAME.b.
req() {
	local name=$1 port=$2 addr=$3
	shift 3
	st=$(curl -sS --max-time 10 --cacert "$CA" --resolve "localuicc:$port:$addr" \
		-o "$T_TMP/$name.b" -D "$T_TMP/$name.h" -w '%{http_code}' "$@" 2>"$T_TMP/$name.err")
	body=$(tr -d '\0' <"$T_TMP/$name.b" 2>/dev/null)
	hdrs=$(tr -d '\r' <"$T_TMP/$name.h" 2>/dev/null)
}

# endpoint_table LABEL PORT ADDR: ADDR as curl's --resolve takes it
# (127.0.0.1 or [::1]); the name localuicc is verified against the test CA.
# Needs $T_TMP/expected.wbxml (scwsemu-card bootstrap of cards/default).
endpoint_table() {
	local t=$1 port=$2 addr=$3
	local U=https://localuicc:$port$BOOT

	req get $port $addr "$U"
	expect_eq "$t GET 200" 200 "$st"
	check "$t GET body equals scwsemu-card bootstrap" cmp -s "$T_TMP/get.b" "$T_TMP/expected.wbxml"
	expect_match "$t GET Content-Type WBXML" "^[Cc]ontent-[Tt]ype: $WBXML\$" "$hdrs"
	expect_match "$t GET Cache-Control no-store" '^[Cc]ache-[Cc]ontrol: no-store' "$hdrs"
	expect_match "$t GET Date and Server" '^[Dd]ate: .*GMT' "$hdrs"
	expect_match "$t Server header" '^[Ss]erver: scwsemu/' "$hdrs"

	req head $port $addr -I "$U"
	expect_eq "$t HEAD 200" 200 "$st"
	expect_match "$t HEAD Content-Length of the bootstrap" "^[Cc]ontent-[Ll]ength: $(wc -c <"$T_TMP/expected.wbxml")\$" "$hdrs"

	req post $port $addr -F devid=IMEI:493005100592800 "$U"
	expect_eq "$t POST devid 200" 200 "$st"
	check "$t POST body equals the bootstrap" cmp -s "$T_TMP/post.b" "$T_TMP/expected.wbxml"

	req pushaddr $port $addr -F devid=IMEI:1 -F push-address=http://127.0.0.1:9/push -F colour=blue "$U"
	expect_eq "$t POST with push-address and an unknown field 200" 200 "$st"

	req nodevid $port $addr -F username=x -F passphrase=eA== "$U"
	expect_eq "$t POST without devid 400" 400 "$st"
	expect_match "$t ... body says devid missing" 'devid' "$body"

	req emptydevid $port $addr -F devid= "$U"
	expect_eq "$t POST empty devid 400" 400 "$st"
	req baddevid $port $addr -F devid=nocolon "$U"
	expect_eq "$t POST devid not scheme:value 400" 400 "$st"
	expect_match "$t ... body names the form" 'scheme:value' "$body"
	req nopass $port $addr -F devid=IMEI:1 -F username=u "$U"
	expect_eq "$t username without passphrase 400" 400 "$st"
	expect_match "$t ... body says so" 'passphrase' "$body"
	req badb64 $port $addr -F devid=IMEI:1 -F username=u -F 'passphrase=not base64!' "$U"
	expect_eq "$t passphrase not base64 400" 400 "$st"
	expect_match "$t ... body says base64" 'base64' "$body"
	req badpush $port $addr -F devid=IMEI:1 -F 'push-address=not a uri' "$U"
	expect_eq "$t push-address not a URI 400" 400 "$st"
	req noname $port $addr -H 'Content-Type: multipart/form-data; boundary=XyZ' \
		--data-binary $'--XyZ\r\nContent-Disposition: form-data\r\n\r\nv\r\n--XyZ--\r\n' "$U"
	expect_eq "$t part without name 400" 400 "$st"
	req noclose $port $addr -H 'Content-Type: multipart/form-data; boundary=XyZ' \
		--data-binary $'--XyZ\r\nContent-Disposition: form-data; name="devid"\r\n\r\nIMEI:1\r\n' "$U"
	expect_eq "$t body without close delimiter 400" 400 "$st"
	expect_match "$t ... body says close delimiter" 'close delimiter' "$body"
	req nobound $port $addr -H 'Content-Type: multipart/form-data' --data-binary 'x' "$U"
	expect_eq "$t missing boundary 400" 400 "$st"
	expect_match "$t ... body says boundary" 'boundary' "$body"

	req urlenc $port $addr -d devid=IMEI:1 "$U"
	expect_eq "$t POST urlencoded 415" 415 "$st"
	req put $port $addr -X PUT --data-binary x "$U"
	expect_eq "$t PUT 405" 405 "$st"
	expect_match "$t ... Allow: GET, HEAD, POST" '^[Aa]llow: GET, HEAD, POST$' "$hdrs"
	req other $port $addr "https://localuicc:$port/OMA/DM/Other.xml"
	expect_eq "$t other path 404" 404 "$st"
	req index $port $addr "https://localuicc:$port/"
	expect_eq "$t / serves the index page" 200 "$st"

	head -c 70000 /dev/zero >"$T_TMP/big"
	req big $port $addr -F devid=IMEI:1 -F "blob=@$T_TMP/big" "$U"
	expect_eq "$t body over 64 KiB 413" 413 "$st"
	long=$(head -c 9000 /dev/zero | tr '\0' a)
	req longhead $port $addr -H "X-Long: $long" "$U"
	expect_eq "$t head over 8 KiB 431" 431 "$st"

	req cont $port $addr -H 'Expect: 100-continue' -F devid=IMEI:1 "$U"
	expect_eq "$t Expect: 100-continue 200" 200 "$st"
	expect_match "$t ... 100 Continue came first" '^HTTP/1.1 100' "$hdrs"
	req chunked $port $addr -H 'Transfer-Encoding: chunked' -F devid=IMEI:1 "$U"
	expect_eq "$t chunked request body 200" 200 "$st"
	check "$t ... body equals the bootstrap" cmp -s "$T_TMP/chunked.b" "$T_TMP/expected.wbxml"

	req accxml $port $addr -H "Accept: application/vnd.syncml.dm+xml" "$U"
	expect_eq "$t Accept XML 200" 200 "$st"
	expect_match "$t ... converted to XML" '<MgmtTree' "$body"
	expect_match "$t ... Content-Type XML" "^[Cc]ontent-[Tt]ype: $XMLT" "$hdrs"

	# Two requests on one connection (keep-alive), and HTTP/1.0.
	out=$(curl -sS --cacert "$CA" --resolve "localuicc:$port:$addr" -o /dev/null -o /dev/null \
		-w '%{http_code} %{num_connects}\n' "$U" "$U" 2>&1)
	expect_eq "$t keep-alive: two 200s on one connection" "200 1
200 0" "$out"
	req http10 $port $addr --http1.0 "$U"
	expect_eq "$t HTTP/1.0 200" 200 "$st"
}
